package cli

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/rpctest"
)

func TestGovKOfNFiles(t *testing.T) {
	h := newHarness(t, rpctest.Options{GovKeys: 3, Threshold: 2})
	dir := t.TempDir()
	k0, k1, k2 := h.node.GovKeys[0], h.node.GovKeys[1], h.node.GovKeys[2]
	grant, err := keyfile.Generate(keyfile.RoleProvider, "newpay")
	if err != nil {
		t.Fatal(err)
	}
	prop := filepath.Join(dir, "register.json")
	var p ProposalJSON
	h.ok("", &p, "gov", "register-provider", "--id", "newpay", "--name", "New Pay",
		"--grant-key", hex.EncodeToString(grant.Public()), "--out", prop, "--json")
	if p.Sequence != 1 || p.Action != "register_provider" || len(p.Digest) != 64 {
		t.Fatalf("proposal: %+v", p)
	}
	var shown ProposalJSON
	h.ok("", &shown, "gov", "show", prop, "--json")
	if shown.Digest != p.Digest || !strings.Contains(shown.Summary, `register provider "newpay"`) {
		t.Fatalf("show: %+v", shown)
	}

	// Each key holder signs on their own (no node needed).
	var s0, s1 SignJSON
	r := h.ok("", &s0, "gov", "sign", "--key", k0, prop, "--json", "--node", "http://127.0.0.1:1")
	if !strings.Contains(r.stderr, p.Digest) {
		t.Errorf("sign does not show the digest:\n%s", r.stderr)
	}
	h.ok("", &s1, "gov", "sign", "--key", k1, prop, "--json")
	if len(s0.Signatures) != 1 || s0.Signatures[0] == s1.Signatures[0] {
		t.Fatalf("signature files: %v %v", s0.Signatures, s1.Signatures)
	}

	// One signature of two: refused before sending.
	blocks := h.node.Blocks
	r = h.run("", "gov", "submit", prop, s0.Signatures[0])
	if r.code != ExitRejected || !strings.Contains(r.stderr, "1 of the 2 signatures") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("one signature: %s", r)
	}
	if h.node.Blocks != blocks {
		t.Fatal("an under-signed action was sent")
	}
	// A signature of another proposal is named.
	other := filepath.Join(dir, "settle.json")
	h.ok("", nil, "gov", "update-provider", "--id", "paypay", "--status", "suspended", "--out", other)
	h.ok("", nil, "gov", "sign", "--key", k2, other, "--out", filepath.Join(dir, "other.sig.json"))
	r = h.run("", "gov", "submit", prop, s0.Signatures[0], filepath.Join(dir, "other.sig.json"))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "other.sig.json is a signature of another proposal") {
		t.Fatalf("foreign signature: %s", r)
	}

	// Two of three, in any order: accepted.
	var g GovJSON
	h.ok("", &g, "gov", "submit", prop, s1.Signatures[0], s0.Signatures[0], "--json")
	if g.Code != 0 || g.Sequence != 1 || g.Signatures != 2 || g.Height == 0 || !strings.Contains(g.Summary, "newpay") {
		t.Fatalf("submit: %+v", g)
	}
	var pj ProviderJSON
	h.ok("", &pj, "query", "provider", "newpay", "--json")
	if pj.Status != "active" || pj.GrantKey != hex.EncodeToString(grant.Public()) {
		t.Fatalf("registered provider: %+v", pj)
	}
	// The proposal is used up: its sequence is gone.
	r = h.run("", "gov", "submit", prop, s0.Signatures[0], s1.Signatures[0])
	if r.code != ExitRejected || !strings.Contains(r.stderr, "bad_sequence") || !strings.Contains(r.stderr, "the ledger's next is 2") {
		t.Fatalf("resubmitted proposal: %s", r)
	}
	// The other proposal (sequence 1 too) is stale as well; --key adds
	// signatures on the spot.
	r = h.run("", "gov", "submit", other, filepath.Join(dir, "other.sig.json"), "--key", k0)
	if r.code != ExitRejected || !strings.Contains(r.stderr, "sequence 1") {
		t.Fatalf("stale proposal: %s", r)
	}
	// A provider key is not an authority key.
	r = h.run("", "gov", "sign", "--key", h.node.ProvKeys["paypay"], prop)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "not a government authority key") {
		t.Fatalf("provider key: %s", r)
	}
	var gs GovStateJSON
	h.ok("", &gs, "query", "gov", "--json")
	if gs.NextSequence != 2 || gs.Threshold != 2 || len(gs.Keys) != 3 {
		t.Fatalf("query gov: %+v", gs)
	}
}

// TestGovActions runs every government action through `--key` (k keys
// held by one operator) and checks its effect on the ledger.
func TestGovActions(t *testing.T) {
	h := newHarness(t, rpctest.Options{GovKeys: 2, Threshold: 2})
	keys := []string{"--key", h.node.GovKeys[0], "--key", h.node.GovKeys[1]}
	gov := func(args ...string) GovJSON {
		t.Helper()
		var g GovJSON
		h.ok("", &g, append(append(append([]string{"gov"}, args...), keys...), "--json")...)
		if g.Code != 0 || g.Outcome != "accepted" {
			t.Fatalf("gov %s: %+v", args[0], g)
		}
		return g
	}
	dir := t.TempDir()
	aliceCard := h.node.Card("alice")
	alice := h.link(aliceCard, "paypay", "alice")

	// set-program: a fixed program, windows by flags.
	start := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	end := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	gov("set-program", "--id", "bonus2", "--name", "Bonus 2", "--kind", "fixed", "--fixed-yen", "7500",
		"--budget-yen", "1000000", "--start", start, "--end", end)
	var prog ProgramJSON
	h.ok("", &prog, "query", "program", "bonus2", "--json")
	if prog.Program.Kind != "fixed" || prog.Program.FixedYen != 7500 || prog.Program.CapYen != 7500 {
		t.Fatalf("set-program: %+v", prog.Program)
	}
	// set-program from a JSON file in the genesis format (what query
	// program prints): raise the budget.
	progFile := filepath.Join(dir, "bonus2.json")
	prog.Program.BudgetYen = 2000000
	writeFile(t, progFile, mustJSON(t, prog.Program))
	gov("set-program", "--file", progFile)
	h.ok("", &prog, "query", "program", "bonus2", "--json")
	if prog.Program.BudgetYen != 2000000 {
		t.Fatalf("set-program --file: %+v", prog.Program)
	}

	// attest, then the fixed amount is granted once.
	ids := filepath.Join(dir, "ids.txt")
	writeFile(t, ids, "# attested\n"+strings.ToLower(alice)+"\n")
	gov("attest", "--program", "bonus2", "--mykey-file", ids)
	var person PersonJSON
	h.ok("", &person, "query", "person", "--program", "bonus2", "--mykey", alice, "--json")
	if !person.Attested {
		t.Fatalf("attest: %+v", person)
	}
	h.ok(rpctest.PIN+"\n", nil, "link", "--card", "file:"+aliceCard, "--pin-stdin", "--program", "bonus2",
		"--provider", "paypay", "--account", "alice")
	var g GrantJSON
	h.ok("", &g, "grant", "--key", h.node.ProvKeys["paypay"], "--program", "bonus2", "--mykey", alice,
		"--charge-ref", "b2-1", "--amount", "1", "--json")
	if g.GrantedYen != 7500 {
		t.Fatalf("fixed grant: %+v", g)
	}

	// settle part of what is outstanding.
	gov("settle", "--program", "bonus2", "--provider", "paypay", "--amount", "5000", "--reference", "wire-1")
	var tot ProviderTotalsJSON
	h.ok("", &tot, "query", "totals", "--program", "bonus2", "--provider", "paypay", "--json")
	if tot.SettledYen != 5000 || tot.OutstandingYen != 2500 {
		t.Fatalf("settle: %+v", tot)
	}
	// More than outstanding: the ledger refuses, exit 3, with its reason.
	r := h.run("", append([]string{"gov", "settle", "--program", "bonus2", "--provider", "paypay", "--amount", "9999", "--reference", "wire-2"}, keys...)...)
	if r.code != ExitRejected || !strings.Contains(r.stderr, "settlement_exceeds_outstanding") {
		t.Fatalf("over-settlement: %s", r)
	}

	// register-provider with a key file; update-provider suspends it.
	pk, _ := keyfile.Generate(keyfile.RoleProvider, "newpay")
	pkPath := filepath.Join(dir, "newpay.json")
	if err := keyfile.Save(pkPath, pk); err != nil {
		t.Fatal(err)
	}
	gov("register-provider", "--id", "newpay", "--name", "New Pay", "--grant-key", pkPath)
	gov("update-provider", "--id", "linepay", "--status", "suspended")
	var pj ProviderJSON
	h.ok("", &pj, "query", "provider", "linepay", "--json")
	if pj.Status != "suspended" {
		t.Fatalf("update-provider: %+v", pj)
	}
	bob := h.node.Card("bob")
	r = h.run(rpctest.PIN+"\n", "link", "--card", "file:"+bob, "--pin-stdin", "--program", rpctest.Program, "--provider", "linepay", "--account", "bob")
	if r.code != ExitRejected || !strings.Contains(r.stderr, "suspended") {
		t.Fatalf("link to a suspended provider: %s", r)
	}

	// correct-linkage: move alice's mynapoint linkage to newpay, then void it.
	gov("correct-linkage", "--program", rpctest.Program, "--mykey", alice, "--move-to", "newpay", "--account", "alice-at-newpay", "--incident", "INC-1")
	var l LinkageJSON
	h.ok("", &l, "query", "link", "--program", rpctest.Program, "--provider", "newpay", "--account", "alice-at-newpay", "--json")
	if l.MyKeyID != alice || l.ProviderID != "newpay" || l.Status != "active" {
		t.Fatalf("moved linkage: %+v", l)
	}
	gov("correct-linkage", "--program", rpctest.Program, "--mykey", alice, "--void", "--incident", "INC-2")
	h.ok("", &l, "query", "link", "--program", rpctest.Program, "--mykey", alice, "--json")
	if l.Status != "voided" {
		t.Fatalf("voided linkage: %+v", l)
	}

	// revoke a certificate by its file: the card can no longer link.
	carol := h.node.Card("carol")
	carolCert := certFile(t, carol, dir)
	gov("revoke", "--cert", carolCert, "--reason", "card reported lost")
	r = h.run(rpctest.PIN+"\n", "link", "--card", "file:"+carol, "--pin-stdin", "--program", rpctest.Program, "--provider", "paypay", "--account", "carol")
	if r.code != ExitRejected || !strings.Contains(r.stderr, "revoked") {
		t.Fatalf("link with a revoked certificate: %s", r)
	}
	var cr CertRecordJSON
	h.ok("", &cr, "query", "cert", "--cert", carolCert, "--json")
	if !cr.Revoked || cr.RevokeReason != "card reported lost" {
		t.Fatalf("revoked certificate: %+v", cr)
	}

	// succession: alice's renewed card keeps her MyKey ID. The ledger
	// cannot name a certificate: both are given by file.
	renewed := h.node.Card("alice-renewed")
	r = h.run("", append([]string{"gov", "succession", "--new-cert", certFile(t, renewed, dir), "--reason", "renewed"}, keys...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "--old-cert FILE") {
		t.Fatalf("succession without the old certificate: %s", r)
	}
	gov("succession", "--old-cert", certFile(t, aliceCard, dir), "--new-cert", certFile(t, renewed, dir), "--reason", "renewed")
	var info map[string]any
	h.ok("", &info, "card", "info", "--card", "file:"+renewed, "--json")
	if info["mykey_id"] != alice {
		t.Fatalf("renewed card's MyKey ID %v, want %s", info["mykey_id"], alice)
	}
	// Nothing is left unsigned: the sequence counted every action.
	var gs GovStateJSON
	h.ok("", &gs, "query", "gov", "--json")
	if gs.NextSequence != 11 {
		t.Fatalf("next sequence %d after 10 actions", gs.NextSequence)
	}
}

// certFile writes a card file's certificate as DER and returns the path.
func certFile(t *testing.T, card, dir string) string {
	t.Helper()
	c, err := cardfile.Load(card)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(card)+".der")
	if err := os.WriteFile(path, c.Certificate, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
