package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/card/pcsctest"
	"github.com/mykeyledger/mykey/client/cli"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testnet"
)

func TestMain(m *testing.M) { os.Exit(testnet.Main(m)) }

// localnet is a test network of mykeyd processes (internal/testnet) that
// the tests drive through the mykey binary.
type localnet struct {
	*testnet.Network
	t   *testing.T
	dir string // the network's directory (network.json), MYKEY_NETWORK
	lay *netlayout.Layout
}

func startLocalnet(t *testing.T, validators, cards int) *localnet {
	t.Helper()
	nw := testnet.Start(t, testnet.Options{Validators: validators, Cards: cards})
	return &localnet{Network: nw, t: t, dir: nw.NetDir, lay: nw.Layout}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// mykey runs the mykey binary against the network (MYKEY_NETWORK).
func (n *localnet) mykey(stdin string, args ...string) result {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testnet.Mykey(n.t), args...)
	cmd.Env = append(os.Environ(), cli.EnvNetwork+"="+n.dir, cli.EnvNode+"=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		n.t.Fatalf("mykey %v: %v", args, err)
	}
	return r
}

// ok runs mykey, requires exit 0 and decodes its JSON output into v.
func (n *localnet) ok(stdin string, v any, args ...string) {
	n.t.Helper()
	r := n.mykey(stdin, args...)
	if r.code != 0 {
		n.t.Fatalf("mykey %s: %s", strings.Join(args, " "), r)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			n.t.Fatalf("mykey %s: %v\n%s", strings.Join(args, " "), err, r)
		}
	}
}

func (n *localnet) link(card, provider, account string) string {
	n.t.Helper()
	var out cli.LinkJSON
	n.ok("1234\n", &out, "link", "--card", "file:"+card, "--pin-stdin", "--program", "mynapoint",
		"--provider", provider, "--account", account, "--json")
	if out.Code != 0 || len(out.MyKeyID) != 8 || out.Height < 1 {
		n.t.Fatalf("link: %+v", out)
	}
	return out.MyKeyID
}

func (n *localnet) totals(provider string) cli.ProviderTotalsJSON {
	n.t.Helper()
	var tot cli.ProviderTotalsJSON
	n.ok("", &tot, "query", "totals", "--program", "mynapoint", "--provider", provider, "--json")
	return tot
}

// TestLocalnet drives a 4-validator network through the mykey binary: a
// link with a software card file, a grant and queries, rejections, a
// government action, an import of 10,000 charges killed half-way and
// rerun, and (through pcscd and the vpcd driver) a link with a card in a
// reader.
func TestLocalnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of mykeyd processes; skipped with -short")
	}
	n := startLocalnet(t, 4, 4)
	cards := n.lay.TestCards
	paypayKey := n.lay.ProviderKeys["paypay"]

	// Link, grant, query.
	r := n.mykey("1234\n", "link", "--card", "file:"+cards[0], "--pin-stdin", "--program", "mynapoint",
		"--provider", "paypay", "--account", "alice-token", "--json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var link map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &link); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mykey_id", "height", "code", "log"} {
		if _, ok := link[k]; !ok {
			t.Fatalf("link JSON lacks %q: %s", k, r.stdout)
		}
	}
	alice := link["mykey_id"].(string)
	var g map[string]any
	n.ok("", &g, "grant", "--key", paypayKey, "--program", "mynapoint", "--mykey", alice,
		"--charge-ref", "pp-0001", "--amount", "1000", "--json")
	if g["granted_yen"] != 250.0 || g["code"] != 0.0 || g["log"] == nil {
		t.Fatalf("grant: %v", g)
	}
	// Any node answers, with a proof checked against its header (node 2
	// may be a block behind node 0, which the commands above used).
	var l cli.LinkageJSON
	queryArgs := []string{"query", "link", "--program", "mynapoint", "--mykey", alice, "--json", "--prove", "--node", n.lay.Nodes[2].RPC}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		if r := n.mykey("", queryArgs...); r.code == 0 || time.Now().After(deadline) {
			break
		}
	}
	n.ok("", &l, queryArgs...)
	if l.ProviderID != "paypay" || !l.Verified {
		t.Fatalf("query link: %+v", l)
	}

	// Rejections exit non-zero and say why.
	r = n.mykey("1234\n", "link", "--card", "file:"+cards[0], "--pin-stdin", "--program", "mynapoint", "--provider", "linepay", "--account", "x")
	if r.code != cli.ExitRejected || !strings.Contains(r.stderr, "already_linked") {
		t.Fatalf("second link of a card: %s", r)
	}
	r = n.mykey("1234\n", "link", "--card", "file:"+cards[1], "--pin-stdin", "--program", "mynapoint",
		"--provider", "paypay", "--account", "alice-token", "--json")
	var rej cli.LinkJSON
	if r.code != cli.ExitRejected || json.Unmarshal([]byte(r.stdout), &rej) != nil || rej.Code != 12 ||
		!strings.Contains(r.stderr, "account_already_linked") {
		t.Fatalf("a linked account: %s", r)
	}
	r = n.mykey("", "status", "--node", "http://127.0.0.1:1")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "cannot reach the node") {
		t.Fatalf("unreachable node: %s", r)
	}

	// A government action with the network's authority key.
	var gj cli.GovJSON
	n.ok("", &gj, "gov", "settle", "--program", "mynapoint", "--provider", "paypay", "--amount", "100",
		"--reference", "wire-1", "--key", n.lay.GovernmentKeys[0], "--json")
	if gj.Code != 0 || n.totals("paypay").SettledYen != 100 {
		t.Fatalf("settle: %+v", gj)
	}

	// 10,000 charges of four people, imported, killed, rerun.
	people := []string{alice}
	for i := 1; i < 4; i++ {
		people = append(people, n.link(cards[i], "paypay", fmt.Sprintf("acct-%d", i)))
	}
	path, want := writeCharges(t, people, 10000)
	before := n.totals("paypay")
	killedImport(t, n, paypayKey, path)
	mid := n.totals("paypay")
	var run2 cli.ImportJSON
	n.ok("", &run2, "grant", "import", "--key", paypayKey, path, "--json")
	after := n.totals("paypay")
	t.Logf("when it was killed the import had recorded %d charges; the rerun granted %d and found %d duplicates",
		mid.Grants-before.Grants, run2.Granted, run2.Duplicates)
	if run2.Granted+run2.Duplicates != 10000 || run2.Rejected != 0 || run2.Conflicts != 0 || !run2.Complete {
		t.Fatalf("rerun: granted %d, duplicates %d, rejected %d, conflicts %d", run2.Granted, run2.Duplicates, run2.Rejected, run2.Conflicts)
	}
	if run2.Duplicates < 1000 || run2.Granted < 1 {
		t.Fatalf("the import was not interrupted half-way: %d duplicates, %d granted", run2.Duplicates, run2.Granted)
	}
	if after.Grants-before.Grants != 10000 || after.GrantedYen-before.GrantedYen != want {
		t.Fatalf("ledger: %d grants for %d yen, want 10000 for %d", after.Grants-before.Grants, after.GrantedYen-before.GrantedYen, want)
	}
	// Every charge is accounted for once: granted by the rerun, or a
	// duplicate of one recorded before (by the killed run's transactions,
	// some of which may commit after it died).
	var accounted int64
	for _, r := range run2.Results {
		switch {
		case r.Outcome == cli.OutcomeGranted:
			accounted += r.GrantedYen
		case r.Outcome == cli.OutcomeDuplicate && r.Recorded != nil && r.Recorded.Same:
			accounted += r.Recorded.GrantedYen
		default:
			t.Fatalf("rerun result: %+v", r)
		}
	}
	if accounted != want || run2.GrantedYen > want {
		t.Fatalf("the rerun accounts for %d yen (granted now %d), want %d", accounted, run2.GrantedYen, want)
	}
	res := run2.Results[len(run2.Results)-1]
	if res.Line != 10001 || (res.Outcome != cli.OutcomeGranted && res.Outcome != cli.OutcomeDuplicate) {
		t.Fatalf("last result: %+v", res)
	}
	var run3 cli.ImportJSON
	n.ok("", &run3, "grant", "import", "--key", paypayKey, path, "--json")
	if run3.Granted != 0 || run3.Duplicates != 10000 || n.totals("paypay").Grants != after.Grants {
		t.Fatalf("third run: granted %d, duplicates %d", run3.Granted, run3.Duplicates)
	}

	t.Run("pcsc", func(t *testing.T) {
		// A fifth card, of the network's test CA, in pcscd's virtual
		// reader: mykey link --card pcsc through ebfe/scard.
		n := &localnet{Network: n.Network, t: t, dir: n.dir, lay: n.lay}
		pcsctest.Setup(t)
		var issued struct {
			File string `json:"file"`
		}
		card := filepath.Join(t.TempDir(), "card.json")
		n.ok("", &issued, "testca", "issue", "--ca", filepath.Join(n.dir, "testca"), "--out", card, "--json")
		if issued.File != card {
			t.Fatalf("testca issue: %+v", issued)
		}
		pcsctest.EmulateFile(t, card)
		var out cli.LinkJSON
		n.ok("1234\n", &out, "link", "--card", "pcsc:"+pcsctest.Reader, "--pin-stdin", "--card-wait", "10s",
			"--program", "mynapoint", "--provider", "linepay", "--account", "pcsc-user", "--json")
		if out.Code != 0 || out.MyKeyID == "" {
			t.Fatalf("link through PC/SC: %+v", out)
		}
		var l cli.LinkageJSON
		n.ok("", &l, "query", "link", "--program", "mynapoint", "--card", "pcsc:"+pcsctest.Reader, "--json")
		if l.MyKeyID != out.MyKeyID || l.ProviderID != "linepay" {
			t.Fatalf("query link --card pcsc: %+v", l)
		}
	})
}

// killedImport starts an import and kills it (SIGKILL, by PID) once its
// first batch is in a block.
func killedImport(t *testing.T, n *localnet, key, path string) {
	t.Helper()
	cmd := exec.Command(testnet.Mykey(t), "grant", "import", "--key", key, path)
	cmd.Env = append(os.Environ(), cli.EnvNetwork+"="+n.dir, cli.EnvNode+"=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "batch 1/") {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				close(killed)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-killed:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the import committed no batch in 90s")
	}
	_ = cmd.Wait()
}

// writeCharges writes n charges over the people, amounts 4..11 yen (1 or 2
// yen granted each, well below the cap), and returns the file and the yen
// they earn.
func writeCharges(t *testing.T, people []string, n int) (string, int64) {
	t.Helper()
	var b strings.Builder
	b.WriteString("program_id,mykey_id,charge_ref,amount_yen,charged_at\n")
	at := time.Now().Add(-time.Minute).Unix()
	var want int64
	for i := range n {
		amount := int64(4 + i%8)
		want += amount * 2500 / 10000
		fmt.Fprintf(&b, "mynapoint,%s,day1-%06d,%d,%d\n", people[i%len(people)], i, amount, at)
	}
	path := filepath.Join(t.TempDir(), "charges.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}
