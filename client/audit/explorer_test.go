package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/mykeyledger/mykey/client/audit/report"
	"github.com/mykeyledger/mykey/internal/syncbuf"
)

// startServe runs `mykey audit serve` in process on a free loopback port
// and returns its URL; it stops when the test ends.
func startServe(t *testing.T, args ...string) (string, *syncbuf.Buffer) {
	t.Helper()
	pr, pw := io.Pipe()
	stderr := &syncbuf.Buffer{}
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--refresh", "0", "--spool-dir", t.TempDir()}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- execAudit(ctx, pw, stderr, args...)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s")
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		const prefix = "explorer: serving on "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("serve printed %q", line)
		}
		return strings.TrimPrefix(line, prefix), stderr
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not listen within 30 s\n%s", stderr)
	}
	return "", nil
}

// waitStatus polls url until it answers a status other than 503 (the
// explorer's "verifying" page) and returns it and the body.
func waitStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusServiceUnavailable {
				return res.StatusCode, string(body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still not ready after a minute (%v)", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newBrowser starts headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	// Start the browser without a deadline (a deadline would stop it).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// within runs fn with a deadline derived from the browser context.
func within[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS evaluates expr until it is true, across navigations (which
// interrupt an evaluation in flight).
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s still not true (%v)", what, expr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checkScreenshot decodes a PNG screenshot and requires real content:
// many colours and a fair share of pixels that are not background.
func checkScreenshot(t *testing.T, name string, buf []byte) {
	t.Helper()
	if dir := os.Getenv("MYKEY_AUDIT_ARTIFACTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name), buf, 0o644)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	colours, nonWhite, total := screenshotStats(img)
	t.Logf("%s: %dx%d, %d colours, %.1f%% not white", name, img.Bounds().Dx(), img.Bounds().Dy(), colours, 100*float64(nonWhite)/float64(total))
	if colours < 64 || float64(nonWhite) < 0.05*float64(total) {
		t.Errorf("%s looks blank: %d colours, %d of %d pixels not white", name, colours, nonWhite, total)
	}
}

func screenshotStats(img image.Image) (colours, nonWhite, total int) {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			seen[r<<16|g<<8|bl] = true
			if r < 245 || g < 245 || bl < 245 {
				nonWhite++
			}
			total++
		}
	}
	return len(seen), nonWhite, total
}

// The explorer end to end in headless Chromium: the summary shows the
// network's totals, provider pages and search work, the CSV download is
// what `mykey audit export` writes, and the pages fit a phone.
func TestExplorerInChromium(t *testing.T) {
	f := sharedFixture(t)
	base, logs := startServe(t, f.honest()...)
	if code, body := waitStatus(t, base+"/"); code != http.StatusOK {
		t.Fatalf("GET /: %d\n%s\n%s", code, body, logs)
	}
	ctx := newBrowser(t)

	// Summary.
	do(t, ctx, "load the summary", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#total-granted")))
	if got, want := within(t, ctx, "total", chromedp.Text(chromedp.CSS("#total-granted"))), "¥"+report.Yen(f.totalYen); got != want {
		t.Errorf("total granted %q, want %q", got, want)
	}
	if got := within(t, ctx, "grants", chromedp.Text(chromedp.CSS("#total-grants"))); got != strconv.FormatInt(f.totalGrants, 10) {
		t.Errorf("grants %q, want %d", got, f.totalGrants)
	}
	if got := within(t, ctx, "reconcile", chromedp.Text(chromedp.CSS("#reconcile"))); got != "All checks pass" {
		t.Errorf("reconciliation %q", got)
	}
	h, err := strconv.ParseInt(within(t, ctx, "height", chromedp.Text(chromedp.CSS("#proved-height"))), 10, 64)
	if err != nil || h < f.readyHeight {
		t.Errorf("proved at height %d (%v), want >= %d", h, err, f.readyHeight)
	}
	for k, yen := range f.granted {
		sel := chromedp.CSS("#program-" + k.program + ` tr[data-provider="` + k.provider + `"] td.granted`)
		if got := within(t, ctx, "row "+k.provider, chromedp.Text(sel)); got != report.Yen(yen) {
			t.Errorf("%s/%s granted %q, want %s", k.program, k.provider, got, report.Yen(yen))
		}
	}
	if bars := within(t, ctx, "chart", chromedp.Evaluate[int](`document.querySelectorAll("#chart-all rect").length`)); bars < 3 {
		t.Errorf("the chart has %d bars, want one at least per provider with grants", bars)
	}
	checkScreenshot(t, "summary.png", within(t, ctx, "screenshot", chromedp.FullScreenshot(100)))

	// A provider page, reached by its link.
	do(t, ctx, "open linepay", chromedp.Click(chromedp.CSS(`#program-spring tr[data-provider="linepay"] a`)))
	waitJS(t, ctx, "linepay's page", `document.readyState === "complete" && !!document.getElementById("chart-provider")`)
	if got := within(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); !strings.HasPrefix(got, "Provider linepay") {
		t.Errorf("provider page title %q", got)
	}
	if got := within(t, ctx, "history", chromedp.Text(chromedp.CSS("table.history"))); !strings.Contains(got, "KIOSK-17") {
		t.Errorf("linepay's history does not show the correction: %q", got)
	}
	checkScreenshot(t, "provider.png", within(t, ctx, "screenshot", chromedp.FullScreenshot(100)))

	// Search the day ledger for a provider: its days, nobody else's.
	do(t, ctx, "search", chromedp.Navigate(base+"/grants"), chromedp.WaitVisible(chromedp.CSS("#grant-search")),
		chromedp.SendKeys(chromedp.CSS(`#grant-search input[name="q"]`), "rakutenpay\n"))
	// Wait for the results page itself, not the list the search started from.
	waitJS(t, ctx, "results", `location.search.includes("q=") && document.readyState === "complete" && !!document.getElementById("match-count")`)
	k := pair{"spring", "rakutenpay"}
	if got := within(t, ctx, "grants", chromedp.Text(chromedp.CSS("#match-grants"))); got != strconv.FormatInt(f.grants[k], 10) {
		t.Errorf("rakutenpay's days hold %q grants, want %d", got, f.grants[k])
	}
	rows := within(t, ctx, "rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#grant-table tbody tr")].map(r => r.cells[2].innerText)`))
	for _, r := range rows {
		if r != "rakutenpay" {
			t.Errorf("a search for rakutenpay lists a day of %s", r)
		}
	}
	checkScreenshot(t, "grants.png", within(t, ctx, "screenshot", chromedp.FullScreenshot(100)))
	// The site search sends a MyKey ID to the person's page: totals, the
	// merge, no charge.
	do(t, ctx, "person", chromedp.SendKeys(chromedp.CSS("#site-search"), f.winner+"\n"))
	waitJS(t, ctx, "person page", `document.readyState === "complete" && !!document.getElementById("person-id")`)
	if got := within(t, ctx, "person", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(got, f.loser) || !strings.Contains(got, "certificate renewed") || !strings.Contains(got, "of the cap left") {
		t.Errorf("the person page does not show the merge of %s and the cap left: %q", f.loser, got)
	}
	if n := within(t, ctx, "person's grants", chromedp.Evaluate[int](`document.querySelectorAll("table.grants").length`)); n != 0 {
		t.Errorf("the person page lists charges")
	}
	checkScreenshot(t, "person.png", within(t, ctx, "screenshot", chromedp.FullScreenshot(100)))

	// The CSV download is byte for byte the day table `mykey audit export` writes.
	dl := t.TempDir()
	do(t, ctx, "grant list", chromedp.Navigate(base+"/grants"), chromedp.WaitVisible(chromedp.CSS("#csv-download")))
	dctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	progress := chromedp.BrowserEvents(dctx, browser.DownloadProgress)
	yes := true
	if _, err := chromedp.CallBrowser(dctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "download", chromedp.Click(chromedp.CSS("#csv-download")))
	guid := ""
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
	}
	got, err := os.ReadFile(filepath.Join(dl, guid))
	if err != nil {
		t.Fatal(err)
	}
	r := runAudit(t, append([]string{"export"}, f.honest()...)...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if dayTable := strings.SplitN(r.stdout, "\n\n", 2)[0] + "\n"; string(got) != dayTable {
		t.Errorf("the downloaded CSV (%d bytes) differs from the day table of mykey audit export (%d bytes)", len(got), len(dayTable))
	}

	// History, filtered to corrections.
	do(t, ctx, "history", chromedp.Navigate(base+"/history?kind=correction"), chromedp.WaitVisible(chromedp.CSS("table.history")))
	if n := within(t, ctx, "corrections", chromedp.Evaluate[int](`document.querySelectorAll("table.history tbody tr").length`)); n != 2 {
		t.Errorf("%d corrections listed, want 2", n)
	}

	// On a phone: nothing wider than the screen, and still readable.
	do(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#total-granted")))
	if over := within(t, ctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); over {
		w := within(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		t.Errorf("the summary is %d px wide on a 390 px phone", w)
	}
	checkScreenshot(t, "phone.png", within(t, ctx, "phone screenshot", chromedp.CaptureScreenshot()))
}

// An explorer in front of a node that hides or alters a daily record
// shows an error page naming the node, and no figures.
func TestExplorerDetectsTampering(t *testing.T) {
	f := sharedFixture(t)
	hide := newTamperProxy(t, f.net.rpcURL)
	hide.alterQuery = dropFirstUnder("daily/spring/linepay/")
	base, _ := startServe(t, "--node", hide.URL(), "--genesis", f.net.genesis)
	if code, body := waitStatus(t, base+"/"); code != http.StatusBadGateway || !strings.Contains(body, hide.URL()) || !strings.Contains(body, "incomplete range") {
		t.Errorf("a daily record hidden: GET /: %d\n%s", code, body)
	}
	p := newTamperProxy(t, f.net.rpcURL)
	p.alterQuery = addToDaily("daily/spring/rakutenpay/", 300)
	base, _ = startServe(t, "--node", p.URL(), "--genesis", f.net.genesis)
	code, body := waitStatus(t, base+"/")
	if code != http.StatusBadGateway || !strings.Contains(body, p.URL()) || !strings.Contains(body, "Verification failed") {
		t.Fatalf("GET /: %d\n%s", code, body)
	}
	for _, path := range []string{"/grants", "/grants.csv", "/provider/paypay", "/history"} {
		if code, _ := waitStatus(t, base+path); code != http.StatusBadGateway {
			t.Errorf("GET %s: %d, want 502", path, code)
		}
	}
	ctx := newBrowser(t)
	do(t, ctx, "load", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#failure")))
	if got := within(t, ctx, "node", chromedp.Text(chromedp.CSS("#bad-node"))); got != p.URL() {
		t.Errorf("the error page names %q, want %q", got, p.URL())
	}
	if n := within(t, ctx, "figures", chromedp.Evaluate[int](`document.querySelectorAll("#total-granted").length`)); n != 0 {
		t.Error("the error page shows figures")
	}
	checkScreenshot(t, "tampered.png", within(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
}

// The explorer, in front of a public endpoint, shows the public ledger
// only: no page or download holds one of the fixture's charge
// references, or a grant's time to the second.
func TestExplorerShowsNoCharge(t *testing.T) {
	f := sharedFixture(t)
	pub := newPublicProxy(t, f.net.rpcURL)
	base, _ := startServe(t, f.publicFlags(pub)...)
	code, body := waitStatus(t, base+"/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", code, body)
	}
	if !strings.Contains(body, `id="total-grants">`+strconv.FormatInt(f.totalGrants, 10)+"<") || !strings.Contains(body, "All checks pass") {
		t.Errorf("the overview does not show %d grants, reconciled", f.totalGrants)
	}
	paths := []string{"/", "/grants", "/grants.csv", "/grants?q=" + f.spring["paypay"][0], "/provider/paypay",
		"/person/" + f.winner, "/person/" + f.spring["paypay"][0], "/person/" + f.moved}
	for _, path := range paths {
		code, body := waitStatus(t, base+path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", path, code, body)
			continue
		}
		for _, bad := range []string{f.rejected, "paypay-with-rejected-", chargeRefRE.FindString(body), "Charged at", "Charge ref"} {
			if bad != "" && strings.Contains(body, bad) {
				t.Errorf("GET %s shows %q", path, bad)
			}
		}
		// Link events and government actions carry their time (as does
		// the snapshot's banner); the grant pages carry none to the second.
		if strings.HasPrefix(path, "/grants") {
			content := body
			if i, j := strings.Index(body, "<main>"), strings.Index(body, "</main>"); i >= 0 && j > i {
				content = body[i:j]
			}
			if m := secondsRE.FindString(content); m != "" {
				t.Errorf("GET %s shows a time to the second: %q", path, m)
			}
		}
	}
	code, body = waitStatus(t, base+"/grants")
	if code != http.StatusOK || !strings.Contains(body, `<span id="match-grants">`+strconv.FormatInt(f.totalGrants, 10)+"<") {
		t.Errorf("the day ledger does not add up to %d grants", f.totalGrants)
	}
	if refused := pub.refusals(); len(refused) > 0 {
		t.Errorf("the explorer asked for records not on the public side: %v", refused)
	}
}
