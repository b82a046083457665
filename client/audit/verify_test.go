package audit_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
)

// A node that alters a value in its query answers is caught by every
// command, which names it and exits 5.
func TestTamperedNodeDetectedByCLI(t *testing.T) {
	f := sharedFixture(t)
	cases := []struct {
		name  string
		alter func(string, []byte) ([]byte, bool)
		args  []string
	}{
		{"grant in export", addToGrant("charge/spring/paypay/", 1000), []string{"export", "--charges"}},
		{"grant in reconcile", addToGrant("charge/", 1), []string{"reconcile", "--charges"}},
		{"daily record in export", addToDaily("daily/spring/linepay/", 1000), []string{"export"}},
		{"daily record in summary", addToDaily("daily/", 1), []string{"summary"}},
		{"provider totals in summary", addToProviderTotals("providertotals/spring/linepay", 5000), []string{"summary"}},
		{"provider totals in provider", addToProviderTotals("providertotals/mynapoint/paypay", 1), []string{"provider", "paypay"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newTamperProxy(t, f.net.rpcURL)
			p.alterQuery = tc.alter
			r := runAudit(t, append(tc.args, "--node", p.URL(), "--genesis", f.net.genesis)...)
			if r.code() != audit.ExitUntrusted {
				t.Fatalf("exit %d (%v), want %d; altered %d answers\nstdout: %s", r.code(), r.err, audit.ExitUntrusted, p.count(), r.stdout)
			}
			if p.count() == 0 {
				t.Fatal("the proxy altered nothing")
			}
			msg := r.err.Error()
			if !strings.Contains(msg, p.URL()) || !strings.Contains(msg, "does not support") || !strings.Contains(msg, "do not trust") {
				t.Errorf("error does not name the node and the failed proof: %s", msg)
			}
			if strings.Contains(r.stdout, "RECONCILED") || strings.Contains(r.stdout, "matches the program totals") {
				t.Errorf("figures printed from a tampered node:\n%s", r.stdout)
			}
		})
	}
}

// A node that signs nothing but lies about the app hash in its headers
// is caught by the light client.
func TestForgedHeaderDetected(t *testing.T) {
	f := sharedFixture(t)
	p := newTamperProxy(t, f.net.rpcURL)
	p.alterCommit = forgeAppHash
	r := runAudit(t, "summary", "--node", p.URL(), "--genesis", f.net.genesis)
	if r.code() != audit.ExitUntrusted || !strings.Contains(r.err.Error(), p.URL()) || !strings.Contains(r.err.Error(), "header") {
		t.Fatalf("exit %d: %v; want %d naming %s and its header", r.code(), r.err, audit.ExitUntrusted, p.URL())
	}
}

func TestTrustAnchors(t *testing.T) {
	f := sharedFixture(t)
	h := int64(3)
	hdr, err := f.net.rpc.Header(context.Background(), &h)
	if err != nil {
		t.Fatal(err)
	}
	hash := hex.EncodeToString(hdr.Header.Hash())
	t.Run("trusted height and hash", func(t *testing.T) {
		var s audit.SummaryJSON
		r := auditJSON(t, &s, "summary", "--node", f.net.rpcURL, "--trust-height", "3", "--trust-hash", hash)
		if r.err != nil || !s.Proof.Verified || !strings.Contains(s.Proof.Anchor, "trusted header 3") || int64(s.RootGrantedYen) != f.totalYen {
			t.Fatalf("%v: proof %+v, root %d (want %d)", r.err, s.Proof, s.RootGrantedYen, f.totalYen)
		}
	})
	t.Run("wrong hash", func(t *testing.T) {
		bad := []byte(hash)
		bad[0] ^= 1
		if bad[0] > 'f' || (bad[0] > '9' && bad[0] < 'a') {
			bad[0] = '0'
		}
		r := runAudit(t, "summary", "--node", f.net.rpcURL, "--trust-height", "3", "--trust-hash", string(bad))
		if r.code() != audit.ExitUntrusted || !strings.Contains(r.err.Error(), f.net.rpcURL) {
			t.Fatalf("exit %d: %v", r.code(), r.err)
		}
	})
	t.Run("no anchor", func(t *testing.T) {
		r := runAudit(t, "summary", "--node", f.net.rpcURL)
		if r.code() != audit.ExitUsage || !strings.Contains(r.err.Error(), "--insecure-no-verify") {
			t.Fatalf("exit %d: %v", r.code(), r.err)
		}
	})
	t.Run("network directory", func(t *testing.T) {
		var s audit.SummaryJSON
		// An auditor reads the network's public endpoint.
		r := auditJSON(t, &s, "summary", "--network", f.net.dir)
		if r.err != nil || !s.Proof.Verified || f.net.publicURL == "" || s.Proof.Node != f.net.publicURL {
			t.Fatalf("%v: %+v (public endpoint %q)", r.err, s.Proof, f.net.publicURL)
		}
	})
	t.Run("insecure says UNVERIFIED", func(t *testing.T) {
		r := runAudit(t, "summary", "--node", f.net.rpcURL, "--insecure-no-verify")
		if r.err != nil || !strings.Contains(r.stdout, "UNVERIFIED") || strings.Contains(r.stdout, "Proved at") {
			t.Fatalf("%v:\n%s", r.err, r.stdout)
		}
		var s audit.SummaryJSON
		if r := auditJSON(t, &s, "summary", "--node", f.net.rpcURL, "--insecure-no-verify"); r.err != nil || s.Proof.Verified {
			t.Fatalf("%v: %+v", r.err, s.Proof)
		}
	})
}

func TestReconcileHonest(t *testing.T) {
	f := sharedFixture(t)
	var rj audit.ReconcileJSON
	r := auditJSON(t, &rj, append([]string{"reconcile"}, f.honest()...)...)
	t.Logf("reconcile took %s", r.took)
	if r.err != nil || !rj.OK || len(rj.Mismatches) != 0 {
		t.Fatalf("%v: %+v", r.err, rj.Mismatches)
	}
	if rj.Charges || int64(rj.RootGrantedYen) != f.totalYen || rj.DailyYen != f.totalYen || rj.ProgramsYen != f.totalYen || rj.ProvidersYen != f.totalYen || rj.DailyRecords == 0 {
		t.Errorf("root %d, daily %d in %d records, programs %d, providers %d; want %d yen", rj.RootGrantedYen, rj.DailyYen, rj.DailyRecords, rj.ProgramsYen, rj.ProvidersYen, f.totalYen)
	}
	if rj.HistoryEntries != 12 || !rj.Proof.Verified {
		t.Errorf("history %d entries, proof %+v", rj.HistoryEntries, rj.Proof)
	}
	// With --charges, through the full RPC, every grant record too.
	rj = audit.ReconcileJSON{}
	r = auditJSON(t, &rj, append([]string{"reconcile", "--charges"}, f.honest()...)...)
	if r.err != nil || !rj.OK || !rj.Charges || rj.Grants != f.totalGrants || rj.GrantsYen != f.totalYen {
		t.Errorf("%v: --charges: grants %d (%d yen), want %d grants, %d yen; %+v", r.err, rj.Grants, rj.GrantsYen, f.totalGrants, f.totalYen, rj.Mismatches)
	}
}

// With verification off, an altered figure passes the proofs it no longer
// has, but reconcile names the record that disagrees.
func TestReconcileNamesAlteredFigure(t *testing.T) {
	f := sharedFixture(t)
	const key = "providertotals/spring/paypay"
	p := newTamperProxy(t, f.net.rpcURL)
	p.alterQuery = addToProviderTotals(key, 700)
	r := runAudit(t, "reconcile", "--node", p.URL(), "--insecure-no-verify")
	if r.code() != audit.ExitMismatch {
		t.Fatalf("exit %d: %v\n%s", r.code(), r.err, r.stdout)
	}
	if !strings.Contains(r.stdout, "UNVERIFIED") || !strings.Contains(r.stdout, key) || !strings.Contains(r.err.Error(), key) {
		t.Errorf("output does not name %s:\n%s\nerr: %v", key, r.stdout, r.err)
	}
	for _, check := range []string{"program = providers", "provider = daily"} {
		if !strings.Contains(r.stdout, check) {
			t.Errorf("no %q mismatch:\n%s", check, r.stdout)
		}
	}
}

// A node that hides a grant from a page (every record it does send is
// proved) gives fewer records than the proved count of the range: the
// audit stops and names the node untrusted.
func TestHiddenGrantIsCaught(t *testing.T) {
	f := sharedFixture(t)
	id := f.spring["paypay"][0]
	key := fmt.Sprintf("charge/spring/paypay/paypay-0-%s-03", id)
	p := newTamperProxy(t, f.net.rpcURL)
	p.alterQuery = dropRecord(key)
	r := runAudit(t, "reconcile", "--charges", "--node", p.URL(), "--genesis", f.net.genesis)
	if r.code() != audit.ExitUntrusted || p.count() == 0 {
		t.Fatalf("exit %d: %v (altered %d)", r.code(), r.err, p.count())
	}
	if msg := r.err.Error(); !strings.Contains(msg, "incomplete range: node returned") || !strings.Contains(msg, "records under charge/") || !strings.Contains(msg, p.URL()) {
		t.Errorf("error %q does not name the short range and the node", msg)
	}
	// The export says so too, and writes no file.
	out := t.TempDir() + "/grants.csv"
	r = runAudit(t, "export", "--charges", "--node", p.URL(), "--genesis", f.net.genesis, "--output", out)
	if r.code() != audit.ExitUntrusted || !strings.Contains(r.err.Error(), "incomplete range") {
		t.Fatalf("export: exit %d: %v\n%s", r.code(), r.err, r.stderr)
	}
	if _, err := readFile(out); err == nil {
		t.Error("an incomplete export left its file")
	}
}

// A node that hides an over-grant, or a history entry, from its range
// answers is caught the same way, though no sum covers them.
func TestHiddenOverGrantAndHistoryAreCaught(t *testing.T) {
	f := sharedFixture(t)
	for _, tc := range []struct {
		hide string
		args []string
	}{
		{"overgrant/spring/linepay/", []string{"reconcile"}},
		{"overgrant/spring/linepay/", []string{"summary"}},
		{"history/", []string{"history"}},
		{"history/", []string{"reconcile"}},
		{"daily/spring/paypay/", []string{"export"}},
		{"daily/", []string{"summary"}},
	} {
		p := newTamperProxy(t, f.net.rpcURL)
		p.alterQuery = dropFirstUnder(tc.hide)
		r := runAudit(t, append(tc.args, "--node", p.URL(), "--genesis", f.net.genesis)...)
		if r.code() != audit.ExitUntrusted || p.count() == 0 {
			t.Fatalf("%v hiding %s: exit %d: %v (altered %d)\n%s", tc.args, tc.hide, r.code(), r.err, p.count(), r.stdout)
		}
		dir := tc.hide[:strings.Index(tc.hide, "/")+1]
		if msg := r.err.Error(); !strings.Contains(msg, "incomplete range: node returned") || !strings.Contains(msg, "records under "+dir) || !strings.Contains(msg, p.URL()) {
			t.Errorf("%v hiding %s: error %q", tc.args, tc.hide, msg)
		}
		// The honest node passes the same command.
		if r := runAudit(t, append(tc.args, f.honest()...)...); r.code() != 0 {
			t.Errorf("%v at the honest node: exit %d: %v", tc.args, r.code(), r.err)
		}
	}
}

// A node that stops answering is not accused of lying, and once it is
// back the same client verifies again (the light client, which drops
// providers that fail, is rebuilt from the headers verified so far).
func TestUnreachableIsNotTampering(t *testing.T) {
	f := sharedFixture(t)
	p := newDownProxy(t, f.net.rpcURL)
	ctx := context.Background()
	c, err := lightverify.New(ctx, lightverify.Options{Node: p.URL, Genesis: f.net.genesis, HeaderWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.net.Status(0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppHash(ctx, h-1); err != nil {
		t.Fatalf("while up: %v", err)
	}
	p.down.Store(true)
	_, err = c.AppHash(ctx, h)
	if err == nil {
		t.Fatal("verified a header through a dead connection")
	}
	if node, bad := lightverify.Untrusted(err); bad {
		t.Fatalf("an unreachable node is called untrustworthy (%s): %v", node, err)
	}
	p.down.Store(false)
	f.net.WaitHeight(t, 0, h+3, time.Minute)
	if _, err := c.AppHash(ctx, h+1); err != nil {
		t.Fatalf("after the node came back: %v", err)
	}
}
