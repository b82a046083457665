package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/rpctest"
)

func TestLinkGrantQuery(t *testing.T) {
	h := newHarness(t, rpctest.Options{})
	card := h.node.Card("alice")

	r := h.run(rpctest.PIN+"\n", "link", "--card", "file:"+card, "--pin-stdin", "--program", rpctest.Program,
		"--provider", "paypay", "--account", "alice-token", "--json")
	if r.code != 0 {
		t.Fatal(r)
	}
	m := fields(t, r.stdout)
	requireKeys(t, "link", m, "mykey_id", "height", "code", "log")
	id, _ := m["mykey_id"].(string)
	if len(id) != types.MyKeyIDLen || m["code"].(float64) != 0 || m["height"].(float64) < 1 {
		t.Fatalf("link output: %v", m)
	}
	if strings.Contains(r.stderr+r.stdout, rpctest.PIN+"\n") {
		t.Errorf("the PIN appears in the output:\n%s", r)
	}

	// One charge: 25 % of ¥1,000.
	key := h.node.ProvKeys["paypay"]
	r = h.run("", "grant", "--key", key, "--program", rpctest.Program, "--mykey", id, "--charge-ref", "pp-1", "--amount", "1000", "--json")
	if r.code != 0 {
		t.Fatal(r)
	}
	g := fields(t, r.stdout)
	requireKeys(t, "grant", g, "granted_yen", "code", "log")
	if g["granted_yen"].(float64) != 250 || g["outcome"] != OutcomeGranted {
		t.Fatalf("grant: %v", g)
	}

	// The same charge again: a duplicate, granted once; exit 0.
	var dup GrantJSON
	h.ok("", &dup, "grant", "--key", key, "--program", rpctest.Program, "--mykey", id, "--charge-ref", "pp-1", "--amount", "1000", "--json")
	if dup.Outcome != OutcomeDuplicate || dup.GrantedYen != 0 || dup.Code != types.ErrDuplicateCharge.Code ||
		dup.Recorded == nil || !dup.Recorded.Same || dup.Recorded.GrantedYen != 250 {
		t.Fatalf("rerun: %+v %+v", dup, dup.Recorded)
	}
	// The same reference for another charge: rejected, exit 3.
	r = h.run("", "grant", "--key", key, "--program", rpctest.Program, "--mykey", id, "--charge-ref", "pp-1", "--amount", "999", "--json")
	if r.code != ExitRejected || !strings.Contains(r.stderr, "duplicate_charge") {
		t.Fatalf("conflicting reference: %s", r)
	}

	// Queries.
	var l LinkageJSON
	h.ok("", &l, "query", "link", "--program", rpctest.Program, "--mykey", id, "--json", "--prove")
	if l.ProviderID != "paypay" || l.Status != "active" || !l.Verified {
		t.Fatalf("query link: %+v", l)
	}
	requireKeys(t, "query link", fields(t, h.ok("", nil, "query", "link", "--program", rpctest.Program, "--mykey", id, "--json").stdout), "provider_id")
	var byAccount LinkageJSON
	h.ok("", &byAccount, "query", "link", "--program", rpctest.Program, "--provider", "paypay", "--account", "alice-token", "--json")
	if byAccount.MyKeyID != id {
		t.Fatalf("query link by account: %+v", byAccount)
	}
	var byCard LinkageJSON
	h.ok("", &byCard, "query", "link", "--program", rpctest.Program, "--card", "file:"+card, "--json")
	if byCard.MyKeyID != id {
		t.Fatalf("query link by card: %+v", byCard)
	}
	var mk MyKeyJSON
	h.ok("", &mk, "query", "mykey", id, "--json")
	if len(mk.Certificates) != 1 || mk.Programs[0] != rpctest.Program {
		t.Fatalf("query mykey: %+v", mk)
	}
	var ch ChargeJSON
	h.ok("", &ch, "query", "charge", "--program", rpctest.Program, "--provider", "paypay", "--ref", "pp-1", "--json", "--prove")
	if ch.GrantedYen != 250 || ch.MyKeyID != id || !ch.Verified {
		t.Fatalf("query charge: %+v", ch)
	}
	var tot ProviderTotalsJSON
	h.ok("", &tot, "query", "totals", "--program", rpctest.Program, "--provider", "paypay", "--json")
	if tot.GrantedYen != 250 || tot.Linked != 1 || tot.OutstandingYen != 250 {
		t.Fatalf("query totals: %+v", tot)
	}
	var pr ProgramJSON
	h.ok("", &pr, "query", "program", rpctest.Program, "--json")
	if pr.Program.RateBP != 2500 || pr.Totals.GrantedYen != 250 {
		t.Fatalf("query program: %+v", pr)
	}
	// The ledger names the card's certificate only by its index, which
	// the node computes from the certificate.
	if len(mk.Certificates[0].Index) != 64 || mk.Certificates[0].Fingerprint != "" || mk.Certificates[0].Serial != "" {
		t.Fatalf("query mykey names a certificate: %+v", mk.Certificates[0])
	}
	var cert CertRecordJSON
	h.ok("", &cert, "query", "cert", "--cert", certFile(t, card, t.TempDir()), "--json", "--prove")
	if cert.MyKeyID != id || cert.Revoked || cert.Index != mk.Certificates[0].Index || !cert.Verified {
		t.Fatalf("query cert: %+v", cert)
	}
	// A fingerprint is no longer a way to find a certificate.
	if r := h.run("", "query", "cert", cert.Fingerprint); r.code == 0 {
		t.Fatalf("query cert by fingerprint: %s", r)
	}
	var tx TxJSON
	h.ok("", &tx, "query", "tx", g["tx_hash"].(string), "--json")
	if tx.Code != 0 || len(tx.Items) != 1 || tx.Items[0].Attrs["charge_ref"] != "pp-1" || tx.Items[0].Attrs["granted_yen"] != "250" {
		t.Fatalf("query tx: %+v", tx)
	}

	// Not found: exit 4, and {"found": false} with --json.
	r = h.run("", "query", "provider", "nopay", "--json")
	if r.code != ExitNotFound || fields(t, r.stdout)["found"] != false {
		t.Fatalf("query of a missing provider: %s", r)
	}
	// Card info shows the MyKey ID through the ledger lookup.
	r = h.run("", "card", "info", "--card", "file:"+card, "--json")
	if r.code != 0 || fields(t, r.stdout)["mykey_id"] != id {
		t.Fatalf("card info: %s", r)
	}
}

func TestLinkRejections(t *testing.T) {
	h := newHarness(t, rpctest.Options{})
	alice := h.node.Card("alice")
	id := h.link(alice, "paypay", "alice-token")

	// The same person to another provider: refused before the PIN is
	// asked (stdin is empty), exit 3, in plain words.
	blocks := h.node.Blocks
	r := h.run("", "link", "--card", "file:"+alice, "--pin-stdin", "--program", rpctest.Program,
		"--provider", "linepay", "--account", "a2")
	if r.code != ExitRejected || !strings.Contains(r.stderr, "already_linked") || !strings.Contains(r.stderr, id) ||
		!strings.Contains(r.stderr, "nothing was signed") {
		t.Fatalf("second link: %s", r)
	}
	if h.node.Blocks != blocks {
		t.Errorf("a refused link made %d blocks", h.node.Blocks-blocks)
	}

	// Another person, the same provider account: the ledger rejects it
	// (code 12); the JSON says so and the exit status is 3. A card whose
	// first link was rejected has no MyKey ID.
	bob := h.node.Card("bob")
	r = h.run(rpctest.PIN+"\n", "link", "--card", "file:"+bob, "--pin-stdin", "--program", rpctest.Program,
		"--provider", "paypay", "--account", "alice-token", "--json")
	if r.code != ExitRejected {
		t.Fatalf("account reused: %s", r)
	}
	var out LinkJSON
	if err := jsonUnmarshal(r.stdout, &out); err != nil {
		t.Fatal(err)
	}
	if out.Code != types.ErrAccountLinked.Code || out.Reason != "account_already_linked" || out.Outcome != "rejected" || out.MyKeyID != "" {
		t.Fatalf("account reused: %+v", out)
	}
	if !strings.Contains(r.stderr, "code 12") || !strings.Contains(r.stderr, "another person") {
		t.Fatalf("account reused, message: %s", r.stderr)
	}

	// A wrong PIN: exit 1, tries left, nothing submitted.
	carol := h.node.Card("carol")
	blocks = h.node.Blocks
	r = h.run("9999\n", "link", "--card", "file:"+carol, "--pin-stdin", "--program", rpctest.Program,
		"--provider", "paypay", "--account", "carol")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "2 tries left") {
		t.Fatalf("wrong PIN: %s", r)
	}
	if h.node.Blocks != blocks {
		t.Errorf("a wrong PIN made %d blocks", h.node.Blocks-blocks)
	}
	if c, err := cardfile.Load(carol); err != nil || c.TriesLeft != 2 {
		t.Fatalf("card after a wrong PIN: %v tries, %v", c.TriesLeft, err)
	}

	// Unknown program: refused before signing.
	r = h.run(rpctest.PIN+"\n", "link", "--card", "file:"+carol, "--pin-stdin", "--program", "nosuch",
		"--provider", "paypay", "--account", "carol")
	if r.code != ExitRejected || !strings.Contains(r.stderr, "unknown program") {
		t.Fatalf("unknown program: %s", r)
	}
	// Usage errors: exit 2.
	if r = h.run("", "link", "--program", rpctest.Program); r.code != ExitUsage {
		t.Fatalf("missing flags: %s", r)
	}
	if r = h.run("", "link", "--bogus"); r.code != ExitUsage {
		t.Fatalf("unknown flag: %s", r)
	}
}

func TestLinkOutSubmitBatch(t *testing.T) {
	h := newHarness(t, rpctest.Options{})
	dir := t.TempDir()
	var files []string
	for i, name := range []string{"a", "b", "c"} {
		card := h.node.Card(name)
		out := filepath.Join(dir, name+".json")
		var lf LinkFileJSON
		h.ok(rpctest.PIN+"\n", &lf, "link", "--card", "file:"+card, "--pin-stdin", "--program", rpctest.Program,
			"--provider", "paypay", "--account", "tok-"+name, "--out", out, "--json")
		if lf.File != out || lf.Fingerprint == "" {
			t.Fatalf("link --out %d: %+v", i, lf)
		}
		files = append(files, out)
	}
	// A request signed for another provider in the directory: nothing is
	// sent unless --skip-bad.
	other := h.node.Card("d")
	h.ok(rpctest.PIN+"\n", nil, "link", "--card", "file:"+other, "--pin-stdin", "--program", rpctest.Program,
		"--provider", "linepay", "--account", "tok-d", "--out", filepath.Join(dir, "d.json"))
	blocks := h.node.Blocks
	r := h.run("", "link", "submit-batch", "--key", h.node.ProvKeys["paypay"], dir)
	if r.code != ExitUsage || !strings.Contains(r.stderr, `signed for provider "linepay"`) {
		t.Fatalf("batch with a foreign request: %s", r)
	}
	if h.node.Blocks != blocks {
		t.Fatal("something was sent")
	}
	var out LinkBatchJSON
	h.ok("", &out, "link", "submit-batch", "--key", h.node.ProvKeys["paypay"], "--skip-bad", dir, "--json")
	if out.Links != 3 || out.Accepted != 3 || len(out.Skipped) != 1 {
		t.Fatalf("submit-batch: %+v", out)
	}
	for i, res := range out.Results {
		if res.File != files[i] || res.MyKeyID == "" || res.Code != 0 || res.Height == 0 {
			t.Fatalf("result %d: %+v", i, res)
		}
	}
	// Again: every link is already there: exit 3 with each reason.
	r = h.run("", "link", "submit-batch", "--key", h.node.ProvKeys["paypay"], files[0], files[1], "--json")
	if r.code != ExitRejected {
		t.Fatalf("resubmitted batch: %s", r)
	}
	var again LinkBatchJSON
	if err := jsonUnmarshal(r.stdout, &again); err != nil {
		t.Fatal(err)
	}
	if again.Rejected != 2 || again.Results[1].Reason != "already_linked" || again.Results[1].MyKeyID != out.Results[1].MyKeyID {
		t.Fatalf("resubmitted batch: %+v", again)
	}
	// A grant key of the wrong role is refused with a clear message.
	r = h.run("", "link", "submit-batch", "--key", h.node.GovKeys[0], files[0])
	if r.code != ExitUsage || !strings.Contains(r.stderr, "not a provider's grant key") {
		t.Fatalf("government key as grant key: %s", r)
	}
}

func TestNodeUnreachable(t *testing.T) {
	var out, errb strings.Builder
	code := Main(t.Context(), []string{"query", "gov", "--node", "127.0.0.1:1"}, Env{Stdout: &out, Stderr: &errb})
	if code != ExitFailure || !strings.Contains(errb.String(), "cannot reach the node at http://127.0.0.1:1") ||
		!strings.Contains(errb.String(), "--node") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func TestNodeFromNetworkLayout(t *testing.T) {
	dir := t.TempDir()
	layout := `{"chain_id":"x","nodes":[{"name":"government","rpc":"http://127.0.0.1:1"}]}`
	if err := os.WriteFile(filepath.Join(dir, "network.json"), []byte(layout), 0o644); err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	env := Env{Stdout: &strings.Builder{}, Stderr: &errb,
		Getenv: func(k string) string { return map[string]string{EnvNetwork: dir}[k] }}
	if code := Main(t.Context(), []string{"status"}, env); code != ExitFailure || !strings.Contains(errb.String(), "http://127.0.0.1:1") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// $MYKEY_NODE wins over the layout, --node over both.
	errb.Reset()
	env.Getenv = func(k string) string { return map[string]string{EnvNetwork: dir, EnvNode: "127.0.0.1:2"}[k] }
	Main(t.Context(), []string{"status"}, env)
	if !strings.Contains(errb.String(), "http://127.0.0.1:2") {
		t.Fatalf("MYKEY_NODE: %s", errb.String())
	}
	errb.Reset()
	Main(t.Context(), []string{"status", "--node", "http://127.0.0.1:3"}, env)
	if !strings.Contains(errb.String(), "http://127.0.0.1:3") {
		t.Fatalf("--node: %s", errb.String())
	}
}
