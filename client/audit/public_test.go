package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// publicProxy stands for a node's public endpoint: it forwards to a node
// but refuses, as the endpoint does, every query of a record or range not
// on the public side (types.PublicKey, types.PublicPrefix), and remembers
// what it refused.
type publicProxy struct {
	*httptest.Server
	mu      sync.Mutex
	refused []string
}

func newPublicProxy(t *testing.T, target string) *publicProxy {
	p := &publicProxy{}
	fwd := newTamperProxy(t, target)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rq struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Path string `json:"path"`
				Data string `json:"data"`
			} `json:"params"`
		}
		_ = json.Unmarshal(body, &rq)
		if rq.Method == "abci_query" {
			what, public := rq.Params.Path, false
			if rq.Params.Path == "/range" {
				bz, _ := hex.DecodeString(rq.Params.Data)
				var q types.RangeQuery
				if q.Unmarshal(bz) == nil {
					what, public = q.Prefix, types.PublicPrefix(q.Prefix)
				}
			} else {
				public = types.PublicKey(strings.TrimPrefix(rq.Params.Path, "/"))
			}
			if !public {
				p.mu.Lock()
				p.refused = append(p.refused, what)
				p.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": rq.ID, "result": map[string]any{
					"response": map[string]any{"code": 40, "log": "not served by a public endpoint: " + what, "codespace": "mykey"}}})
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		fwd.serve(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *publicProxy) refusals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refused...)
}

// publicFlags read the fixture network through a public endpoint.
func (f *fixture) publicFlags(p *publicProxy) []string {
	return []string{"--node", p.URL, "--genesis", f.net.genesis}
}

// ledgerTables splits a public CSV export into its day and person tables
// (header rows dropped), checking their headers.
func ledgerTables(t *testing.T, s string) (days, persons [][]string) {
	t.Helper()
	parts := strings.SplitN(s, "\n\n", 2)
	if len(parts) != 2 {
		t.Fatalf("export is not a day table and a person table:\n%s", s)
	}
	read := func(s string, header []string) [][]string {
		all, err := csv.NewReader(strings.NewReader(s)).ReadAll()
		if err != nil {
			t.Fatalf("export is not CSV: %v", err)
		}
		if len(all) == 0 || strings.Join(all[0], ",") != strings.Join(header, ",") {
			t.Fatalf("CSV header %v, want %v", all[:min(1, len(all))], header)
		}
		return all[1:]
	}
	return read(parts[0], report.DayCSVHeader), read(parts[1], report.PersonCSVHeader)
}

// dayTotals adds up day rows: grants and yen, per (program, provider) too.
func dayTotals(t *testing.T, rows [][]string) (grants, yen int64, by map[pair][2]int64) {
	t.Helper()
	by = map[pair][2]int64{}
	for _, r := range rows {
		n, err1 := strconv.ParseInt(r[3], 10, 64)
		y, err2 := strconv.ParseInt(r[4], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("day row %v", r)
		}
		grants += n
		yen += y
		k := pair{r[0], r[1]}
		by[k] = [2]int64{by[k][0] + n, by[k][1] + y}
	}
	return grants, yen, by
}

// chargeRefRE matches the fixture's charge references
// (provider-plan-MyKeyID-kk), secondsRE a time to the second.
var (
	chargeRefRE = regexp.MustCompile(`[a-z]+-\d+-[0-9A-Z]{8}-\d\d`)
	secondsRE   = regexp.MustCompile(`\d\d:\d\d:\d\d`)
)

// noChargeDetail fails if s holds a charge reference of the fixture or a
// time to the second.
func noChargeDetail(t *testing.T, what, s string, f *fixture) {
	t.Helper()
	for _, bad := range []string{f.rejected, "paypay-with-rejected-", chargeRefRE.FindString(s)} {
		if bad != "" && strings.Contains(s, bad) {
			t.Errorf("%s holds the charge reference %q", what, bad)
		}
	}
	if m := secondsRE.FindString(s); m != "" {
		t.Errorf("%s holds a time to the second: %q", what, m)
	}
}

// The public export, read through a public endpoint, is the day ledger
// and the person totals: it adds up to what the ledger granted, and
// holds no charge reference, amount or time.
func TestPublicExport(t *testing.T) {
	f := sharedFixture(t)
	p := newPublicProxy(t, f.net.rpcURL)
	r := runAudit(t, append([]string{"export"}, f.publicFlags(p)...)...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	if refused := p.refusals(); len(refused) > 0 {
		t.Errorf("the public export asked for records not on the public side: %v", refused)
	}
	days, persons := ledgerTables(t, r.stdout)
	grants, yen, by := dayTotals(t, days)
	if grants != f.totalGrants || yen != f.totalYen {
		t.Errorf("day ledger: %d grants, %d yen; the ledger granted %d, %d", grants, yen, f.totalGrants, f.totalYen)
	}
	for k, y := range f.granted {
		if by[k] != [2]int64{f.grants[k], y} {
			t.Errorf("%v: days add up to %v, want %d grants %d yen", k, by[k], f.grants[k], y)
		}
	}
	if !strings.Contains(r.stderr, "add up to the total the state root commits to") {
		t.Errorf("stderr does not say the export is complete:\n%s", r.stderr)
	}
	noChargeDetail(t, "the public export", r.stdout, f)
	// The person table: the merged winner keeps both IDs' grants, less
	// the over-grant, and the cap left says so.
	var winner []string
	var sum int64
	for _, row := range persons {
		if row[0] == "spring" && row[1] == f.winner {
			winner = row
		}
		if row[0] == "spring" {
			y, _ := strconv.ParseInt(row[4], 10, 64)
			sum += y
		}
	}
	over := f.recovered[pair{"spring", "linepay"}]
	if winner == nil || winner[2] != "paypay" || winner[3] != "active" || winner[5] != strconv.FormatInt(over, 10) {
		t.Errorf("winner's row %v (over-grant %d)", winner, over)
	} else if g, _ := strconv.ParseInt(winner[4], 10, 64); winner[6] != strconv.FormatInt(springCap-(g-over), 10) {
		t.Errorf("winner's cap left %s, granted %d, recovered %d", winner[6], g, over)
	}
	var spring int64
	for k, y := range f.granted {
		if k.program == "spring" {
			spring += y
		}
	}
	if sum != spring {
		t.Errorf("person totals in spring add up to %d, the program granted %d", sum, spring)
	}

	t.Run("jsonl", func(t *testing.T) {
		r := runAudit(t, append([]string{"export", "--format", "jsonl"}, f.publicFlags(p)...)...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		var kinds = map[string]int{}
		var yen int64
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var d report.DayJSON
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			kinds[d.Record]++
			if d.Record == "day" {
				yen += d.GrantedYen
			}
		}
		if yen != f.totalYen || kinds["day"] != len(days) || kinds["person"] != len(persons) {
			t.Errorf("%v lines, %d yen", kinds, yen)
		}
		noChargeDetail(t, "the JSON export", r.stdout, f)
	})
	t.Run("program and provider", func(t *testing.T) {
		r := runAudit(t, append([]string{"export", "--program", "spring", "--provider", "linepay"}, f.publicFlags(p)...)...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		days, persons := ledgerTables(t, r.stdout)
		k := pair{"spring", "linepay"}
		if g, y, _ := dayTotals(t, days); g != f.grants[k] || y != f.granted[k] {
			t.Errorf("%d grants %d yen, want %d %d", g, y, f.grants[k], f.granted[k])
		}
		for _, row := range persons {
			if row[0] != "spring" || row[2] != "linepay" {
				t.Errorf("person row %v in an export of linepay in spring", row)
			}
		}
	})
	t.Run("since tomorrow", func(t *testing.T) {
		r := runAudit(t, append([]string{"export", "--since", "2999-01-01"}, f.publicFlags(p)...)...)
		days, _ := ledgerTables(t, r.stdout)
		if r.err != nil || len(days) != 0 {
			t.Errorf("%v: %d days", r.err, len(days))
		}
	})
	t.Run("output file", func(t *testing.T) {
		out := t.TempDir() + "/ledger.csv"
		r := runAudit(t, append([]string{"export", "--output", out}, f.publicFlags(p)...)...)
		bz, err := readFile(out)
		if r.err != nil || err != nil || !strings.HasPrefix(string(bz), strings.Join(report.DayCSVHeader, ",")) {
			t.Errorf("%v %v: %q", r.err, err, bz)
		}
	})
}

// Charge-level detail is for government auditors through a validator's
// full RPC: a public endpoint refuses it, and export says so.
func TestChargesNeedFullRPC(t *testing.T) {
	f := sharedFixture(t)
	p := newPublicProxy(t, f.net.rpcURL)
	for _, args := range [][]string{{"export", "--charges"}, {"reconcile", "--charges"}, {"person", f.winner, "--charges"}} {
		r := runAudit(t, append(args, f.publicFlags(p)...)...)
		if r.code() != audit.ExitFailure || r.err == nil || !strings.Contains(r.err.Error(), "needs a validator's full RPC") {
			t.Errorf("%v through a public endpoint: exit %d: %v", args, r.code(), r.err)
		}
	}
	// Through the node's full RPC, the charges are there.
	r := runAudit(t, append([]string{"export", "--charges"}, f.honest()...)...)
	if r.err != nil || !strings.Contains(r.stdout, f.spring["paypay"][0]) || !strings.Contains(r.stdout, "paypay-with-rejected-") {
		t.Errorf("%v: charge export through the full RPC:\n%s", r.err, r.stderr)
	}
}

// The public person report shows totals, the cap left, the provider and
// the link history, and no charge.
func TestPublicPerson(t *testing.T) {
	f := sharedFixture(t)
	p := newPublicProxy(t, f.net.rpcURL)
	var pj audit.PersonJSON
	r := auditJSON(t, &pj, append([]string{"person", f.winner}, f.publicFlags(p)...)...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	if refused := p.refusals(); len(refused) > 0 {
		t.Errorf("the public person report asked for records not on the public side: %v", refused)
	}
	pp := pj.Programs[0]
	if pp.Provider != "paypay" || len(pp.Grants) != 0 || pp.CapYen != springCap || pp.CapLeftYen != springCap-(pp.GrantedYen-pp.RecoveredYen) || len(pp.Events) == 0 {
		t.Errorf("%+v", pp)
	}
	r = runAudit(t, append([]string{"person", f.spring["paypay"][0]}, f.publicFlags(p)...)...)
	if r.err != nil || !strings.Contains(r.stdout, "cap left") {
		t.Fatalf("%v\n%s", r.err, r.stdout)
	}
	if strings.Contains(r.stdout, f.rejected) || chargeRefRE.MatchString(r.stdout) {
		t.Errorf("the public person report shows a charge:\n%s", r.stdout)
	}
}

// Every public command works through a public endpoint, asking for
// nothing it refuses, and reconciles.
func TestPublicCommands(t *testing.T) {
	f := sharedFixture(t)
	p := newPublicProxy(t, f.net.rpcURL)
	for _, args := range [][]string{{"summary"}, {"reconcile"}, {"provider", "paypay"}, {"history"}} {
		r := runAudit(t, append(args, f.publicFlags(p)...)...)
		if r.err != nil {
			t.Errorf("%v through a public endpoint: %v\n%s", args, r.err, r.stdout)
		}
	}
	if refused := p.refusals(); len(refused) > 0 {
		t.Errorf("public commands asked for records not on the public side: %v", refused)
	}
	var pj audit.ProviderReportJSON
	r := auditJSON(t, &pj, append([]string{"provider", "linepay"}, f.publicFlags(p)...)...)
	var grants, yen int64
	for _, d := range pj.Daily {
		if d.Program == "spring" {
			grants += d.Grants
			yen += d.GrantedYen
		}
	}
	if k := (pair{"spring", "linepay"}); r.err != nil || grants != f.grants[k] || yen != f.granted[k] {
		t.Errorf("%v: linepay's days in spring add up to %d grants, %d yen; want %d, %d", r.err, grants, yen, f.grants[k], f.granted[k])
	}
}

// With verification off, an altered daily record passes the proofs it no
// longer has, but summary and export name the records that disagree.
func TestAlteredDailyRecordDoesNotReconcile(t *testing.T) {
	f := sharedFixture(t)
	p := newTamperProxy(t, f.net.rpcURL)
	p.alterQuery = addToDaily("daily/spring/paypay/", 70)
	for _, args := range [][]string{{"summary"}, {"export"}, {"reconcile"}} {
		r := runAudit(t, append(args, "--node", p.URL(), "--insecure-no-verify")...)
		if r.code() != audit.ExitMismatch || !strings.Contains(r.err.Error(), "daily/spring/paypay/*") {
			t.Errorf("%v: exit %d: %v\n%s", args, r.code(), r.err, r.stdout)
		}
	}
}
