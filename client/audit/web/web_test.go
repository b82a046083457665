package web

import (
	"bufio"
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// fakeSource answers nothing: these tests serve a snapshot made by hand.
type fakeSource struct{ verified bool }

func (f fakeSource) Node() string    { return "http://node.example:26657" }
func (f fakeSource) Verified() bool  { return f.verified }
func (f fakeSource) Anchor() string  { return "genesis of test" }
func (f fakeSource) ChainID() string { return "test-chain" }
func (f fakeSource) Get(context.Context, string) (*lightverify.Record, error) {
	return nil, &lightverify.ProofError{Node: f.Node(), Key: "mykey/X", Height: 9, Err: errors.New("forged")}
}
func (f fakeSource) Fetch(context.Context, string, string, int) (*lightverify.RawPage, error) {
	return nil, errors.New("no network")
}
func (f fakeSource) VerifyPage(context.Context, *lightverify.RawPage) (*lightverify.Page, error) {
	return nil, errors.New("no network")
}
func (f fakeSource) FetchRecord(context.Context, string) (*lightverify.RawRecord, error) {
	return nil, errors.New("no network")
}
func (f fakeSource) VerifyRecord(context.Context, *lightverify.RawRecord) (*lightverify.Record, error) {
	return nil, errors.New("no network")
}
func (f fakeSource) AppHash(context.Context, int64) ([]byte, error) {
	return nil, errors.New("no network")
}

// testServer serves a snapshot of two days of grants of provider "pay"
// in program "p" (one grant each, 2025-04-01 and 2025-04-02 JST).
func testServer(t *testing.T, verified bool) (*Server, string) {
	t.Helper()
	s, err := New(Options{Source: fakeSource{verified}})
	if err != nil {
		t.Fatal(err)
	}
	tt := &report.Totals{Height: 9, RootSum: 350, Providers: []*types.Provider{{Id: "pay", Name: "Pay <&> Co", Status: types.ProviderStatus_PROVIDER_STATUS_ACTIVE}},
		Programs: []*report.ProgramView{{ID: "p", Program: &types.Program{Id: "p", Name: "P", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: 2500, CapYen: 5000, BudgetYen: 10000},
			Totals:    types.ProgramTotals{GrantedYen: 350, Grants: 2, Linked: 2},
			Providers: []*report.ProviderView{{Program: "p", Provider: "pay", Totals: types.ProviderTotals{GrantedYen: 350, SettledYen: 50, Grants: 2, Linked: 2}}}}}}
	h := &report.History{Height: 9, Items: []*report.HistoryItem{{Sequence: 1, Height: 2, Time: 1743433000, Kind: report.KindCorrection, Summary: `voided linkage of ABCDEFGH to "pay" (INC-1)`, Provider: "pay"}}}
	tt.Days = []*report.DayView{
		{Key: "daily/p/pay/2025-04-01", Program: "p", Provider: "pay", Day: "2025-04-01", DailyTotals: types.DailyTotals{GrantedYen: 250, Grants: 1}},
		{Key: "daily/p/pay/2025-04-02", Program: "p", Provider: "pay", Day: "2025-04-02", DailyTotals: types.DailyTotals{GrantedYen: 100, Grants: 1}},
	}
	s.snap = &snapshot{totals: tt, history: h, daily: report.DailyOf(tt, ""), taken: time.Unix(1743433400, 0)}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestPages(t *testing.T) {
	_, base := testServer(t, true)
	tests := []struct {
		path string
		code int
		want []string
	}{
		{"/", 200, []string{`id="total-granted">¥350<`, "Proved at height <span id=\"proved-height\">9</span>", "against the header of block 10", "All checks pass", `<svg id="chart-all"`, "Budget left: ¥<span class=\"budget-left\">9,650"}},
		{"/provider/pay", 200, []string{"Provider pay", "Pay &lt;&amp;&gt; Co", "INC-1", `<svg id="chart-provider"`}},
		{"/provider/nosuch", 404, []string{"No provider"}},
		{"/grants", 200, []string{`<span id="match-count">2</span>`, `<span id="match-yen">350</span>`, "<td>2025-04-02</td><td>p</td>"}},
		{"/grants?q=04-02", 200, []string{`<span id="match-count">1</span>`, `<span id="match-yen">100</span>`, `href="/grants.csv?q=04-02"`}},
		{"/grants?since=2025-04-02", 200, []string{`<span id="match-count">1</span>`, "<td>2025-04-02</td>"}},
		{"/grants?until=2025-04-01", 200, []string{`<span id="match-count">1</span>`, "<td>2025-04-01</td>"}},
		{"/grants?provider=other", 200, []string{`<span id="match-count">0</span>`}},
		{"/grants?since=notadate", 400, []string{"not a date"}},
		{"/history?kind=correction", 200, []string{"INC-1"}},
		{"/history?kind=succession", 200, []string{"None."}},
		{"/static/style.css", 200, []string{"font-family"}},
		{"/static/app.js", 200, []string{"DOMContentLoaded"}},
	}
	for _, tc := range tests {
		code, body, hdr := get(t, base+tc.path)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d\n%s", tc.path, code, tc.code, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in\n%s", tc.path, w, body)
			}
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
	}
}

func TestNoOutsideResources(t *testing.T) {
	_, base := testServer(t, true)
	for _, path := range []string{"/", "/grants", "/history", "/provider/pay", "/static/style.css", "/static/app.js"} {
		_, body, _ := get(t, base+path)
		for _, bad := range []string{"https://", "http://fonts", "@import", "cdn"} {
			if strings.Contains(strings.ReplaceAll(body, "http://www.w3.org/2000/svg", ""), bad) {
				t.Errorf("%s refers to %q", path, bad)
			}
		}
	}
}

func TestCSVDownload(t *testing.T) {
	_, base := testServer(t, true)
	code, body, hdr := get(t, base+"/grants.csv")
	want := "program,provider,day,grants,granted_yen\np,pay,2025-04-01,1,250\np,pay,2025-04-02,1,100\n"
	if code != 200 || body != want || hdr.Get("X-Mykey-Height") != "9" ||
		!strings.Contains(hdr.Get("Content-Disposition"), "grants-daily-test-chain-h9.csv") {
		t.Fatalf("%d %q %v", code, body, hdr)
	}
	_, body, _ = get(t, base+"/grants.csv?since=2025-04-02")
	sc := bufio.NewScanner(strings.NewReader(body))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 || lines[1] != "p,pay,2025-04-02,1,100" {
		t.Errorf("filtered CSV %q", body)
	}
}

func TestUnverifiedBanner(t *testing.T) {
	_, base := testServer(t, false)
	_, body, _ := get(t, base+"/")
	if !strings.Contains(body, "UNVERIFIED") || strings.Contains(body, "Proved at height") {
		t.Errorf("an unverified explorer does not say so:\n%s", body)
	}
}

// A person page whose answer fails its proof turns the whole explorer
// into its error page, naming the node.
func TestFailureStopsServing(t *testing.T) {
	_, base := testServer(t, true)
	code, body, _ := get(t, base+"/person/ABCDEFGH")
	if code != http.StatusBadGateway || !strings.Contains(body, `<code id="bad-node">http://node.example:26657</code>`) {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, path := range []string{"/", "/grants", "/grants.csv", "/history"} {
		if code, body, _ := get(t, base+path); code != http.StatusBadGateway || !strings.Contains(body, "Verification failed") {
			t.Errorf("GET %s after a failure: %d", path, code)
		}
	}
}

func TestSearchRedirects(t *testing.T) {
	_, base := testServer(t, true)
	for q, want := range map[string]string{
		"abcdefgh": "/person/ABCDEFGH",
		"r1":       "/grants?q=r1",
		"ILOU1234": "/grants?q=ILOU1234", // I, L, O and U are not Crockford
		"pay & co": "/grants?q=pay+%26+co",
	} {
		code, _, hdr := get(t, base+"/search?q="+strings.ReplaceAll(strings.ReplaceAll(q, "&", "%26"), " ", "+"))
		if code != http.StatusSeeOther || hdr.Get("Location") != want {
			t.Errorf("search %q: %d → %q, want %q", q, code, hdr.Get("Location"), want)
		}
	}
}

func TestChart(t *testing.T) {
	if got := stackedChart("c", "x", nil, nil); !strings.Contains(string(got), "No grants yet") {
		t.Errorf("empty chart: %s", got)
	}
	days := []string{"2025-04-01", "2025-04-02", "2025-04-03"}
	ss := []series{
		{Name: "a<b>", Colour: "#111111", Values: []report.Sum{{Grants: 1, Yen: 100}, {}, {Grants: 2, Yen: 300}}},
		{Name: "c", Colour: "#222222", Values: []report.Sum{{Grants: 1, Yen: 50}, {}, {}}},
	}
	svg := string(stackedChart("c", "label", days, ss))
	if n := strings.Count(svg, "<rect"); n != 3 {
		t.Errorf("%d bars, want 3 (no bar for zero):\n%s", n, svg)
	}
	if strings.Contains(svg, "a<b>") || !strings.Contains(svg, "a&lt;b&gt;") {
		t.Errorf("a series name is not escaped:\n%s", svg)
	}
	if !strings.Contains(svg, "¥300") || !strings.Contains(svg, "2025-04-01") || !strings.Contains(svg, "2025-04-03") {
		t.Errorf("axis labels missing:\n%s", svg)
	}
	_ = template.HTML(svg)
}
