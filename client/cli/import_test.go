package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/rpctest"
)

// writeCSV writes a charges file: n charges spread over the people, of
// amounts 4..11 yen (1 or 2 yen each at 25 %); it returns the path and
// the yen they earn.
func writeCSV(t *testing.T, dir string, people []string, n int) (string, int64) {
	t.Helper()
	var b strings.Builder
	b.WriteString("program_id,mykey_id,charge_ref,amount_yen,charged_at\n")
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	var want int64
	for i := range n {
		amount := int64(4 + i%8)
		want += amount * 2500 / 10000
		fmt.Fprintf(&b, "%s,%s,ref-%06d,%d,%s\n", rpctest.Program, people[i%len(people)], i, amount, at)
	}
	path := filepath.Join(dir, "charges.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}

func TestGrantImportRerun(t *testing.T) {
	h := newHarness(t, rpctest.Options{})
	a := h.link(h.node.Card("a"), "paypay", "a")
	b := h.link(h.node.Card("b"), "paypay", "b")
	path, want := writeCSV(t, t.TempDir(), []string{a, b}, 1200)
	key := h.node.ProvKeys["paypay"]

	var first ImportJSON
	r := h.ok("", &first, "grant", "import", "--key", key, "--batch", "250", path, "--json")
	if first.Rows != 1200 || first.Granted != 1200 || first.GrantedYen != want || first.Duplicates != 0 ||
		!first.Complete || len(first.Batches) != 5 || len(first.Results) != 1200 {
		t.Fatalf("first import: %+v", summary(first))
	}
	for i, res := range first.Results {
		if res.Line != i+2 || res.Code != 0 || res.GrantedYen < 1 || res.Log == "" || res.Height == 0 {
			t.Fatalf("result %d: %+v", i, res)
		}
	}
	requireKeys(t, "import result", fields(t, mustJSON(t, first.Results[0])), "granted_yen", "code", "log")
	if !strings.Contains(r.stderr, "batch 5/5") {
		t.Errorf("no per-batch progress on a non-terminal stderr:\n%s", r.stderr)
	}

	// Rerun: nothing granted twice, every charge a duplicate, exit 0.
	blocks := h.node.Blocks
	var again ImportJSON
	h.ok("", &again, "grant", "import", "--key", key, path, "--json")
	if again.Granted != 0 || again.GrantedYen != 0 || again.Duplicates != 1200 || again.Conflicts != 0 || !again.Complete {
		t.Fatalf("rerun: %+v", summary(again))
	}
	if again.Results[7].Recorded == nil || !again.Results[7].Recorded.Same || again.Results[7].Code != types.ErrDuplicateCharge.Code {
		t.Fatalf("rerun result: %+v", again.Results[7])
	}
	if h.node.Blocks != blocks {
		t.Errorf("the rerun sent transactions (%d blocks)", h.node.Blocks-blocks)
	}
	var tot ProviderTotalsJSON
	h.ok("", &tot, "query", "totals", "--program", rpctest.Program, "--provider", "paypay", "--json")
	if tot.GrantedYen != want || tot.Grants != 1200 {
		t.Fatalf("ledger totals %+v, want %d yen in 1200 grants", tot, want)
	}
}

func TestGrantImportPartlyRecorded(t *testing.T) {
	// Half the file was recorded (an interrupted run); the rest, and a
	// charge to a person not linked to this provider, go out now.
	h := newHarness(t, rpctest.Options{})
	a := h.link(h.node.Card("a"), "paypay", "a")
	other := h.link(h.node.Card("o"), "linepay", "o")
	dir := t.TempDir()
	path, want := writeCSV(t, dir, []string{a}, 40)
	half := filepath.Join(dir, "half.csv")
	lines := strings.SplitAfter(readFile(t, path), "\n")
	writeFile(t, half, strings.Join(lines[:21], ""))
	key := h.node.ProvKeys["paypay"]
	h.ok("", nil, "grant", "import", "--key", key, half)
	writeFile(t, path, readFile(t, path)+fmt.Sprintf("%s,%s,ref-x,400,%d\n", rpctest.Program, other, time.Now().Unix()-60))

	r := h.run("", "grant", "import", "--key", key, path, "--json")
	if r.code != ExitRejected || !strings.Contains(r.stderr, "not_linked") || !strings.Contains(r.stderr, "line 42") {
		t.Fatalf("import with a rejected charge: %s", r)
	}
	var out ImportJSON
	if err := jsonUnmarshal(r.stdout, &out); err != nil {
		t.Fatal(err)
	}
	if out.Duplicates != 20 || out.Granted != 20 || out.Rejected != 1 || !out.Complete {
		t.Fatalf("import: %+v", summary(out))
	}
	var tot ProviderTotalsJSON
	h.ok("", &tot, "query", "totals", "--program", rpctest.Program, "--provider", "paypay", "--json")
	if tot.GrantedYen != want || tot.Grants != 40 {
		t.Fatalf("ledger totals %+v, want %d yen in 40 grants", tot, want)
	}
	last := out.Results[len(out.Results)-1]
	if last.Line != 42 || last.Outcome != OutcomeRejected || last.Code != types.ErrNotLinked.Code {
		t.Fatalf("rejected row: %+v", last)
	}
}

func TestGrantImportBadFile(t *testing.T) {
	h := newHarness(t, rpctest.Options{})
	a := h.link(h.node.Card("a"), "paypay", "a")
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.csv")
	now := time.Now().Unix() - 60
	writeFile(t, path, fmt.Sprintf(`# a day of charges
program_id,mykey_id,charge_ref,amount_yen,charged_at
mynapoint,%[1]s,r1,1000,%[2]d
mynapoint,NOT-AN-ID,r2,1000,%[2]d
mynapoint,%[1]s,r3,-5,%[2]d
mynapoint,%[1]s,r1,1000,%[2]d
mynapoint,%[1]s,r4,1000,yesterday
mynapoint,%[1]s,r5,1000

mynapoint,%[1]s,r6,800,%[2]d
`, a, now))
	key := h.node.ProvKeys["paypay"]
	blocks := h.node.Blocks
	r := h.run("", "grant", "import", "--key", key, path)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("bad file: %s", r)
	}
	for _, want := range []string{"bad.csv:4: mykey_id", "bad.csv:5: amount_yen", "bad.csv:6: charge_ref \"r1\" repeats line 3",
		"bad.csv:7: charged_at", "bad.csv:8: 4 fields"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if h.node.Blocks != blocks {
		t.Fatal("a malformed file sent transactions")
	}
	var out ImportJSON
	h.ok("", &out, "grant", "import", "--key", key, "--skip-bad", path, "--json")
	if out.Granted != 2 || out.GrantedYen != 450 || len(out.BadRows) != 5 || out.Results[1].Line != 10 {
		t.Fatalf("--skip-bad: %+v", summary(out))
	}
	// A file without the header's columns is refused as a whole.
	writeFile(t, path, "mykey_id,amount_yen\nX,1\n")
	if r := h.run("", "grant", "import", "--key", key, path); r.code != ExitUsage || !strings.Contains(r.stderr, "lacks program_id, charge_ref, charged_at") {
		t.Fatalf("missing columns: %s", r)
	}
}

func TestGrantImportDryRunAndDroppedRace(t *testing.T) {
	// Blocks of one transaction, and a transaction an earlier run left in
	// the mempool with the same charges: the rerun's own transaction stays
	// in the mempool (Recheck keeps it) and is rejected in its block, on
	// the ledger, and its charges are reported as duplicates; nothing is
	// granted twice.
	h := newHarness(t, rpctest.Options{BlockTxs: 1})
	a := h.link(h.node.Card("a"), "paypay", "a")
	path, want := writeCSV(t, t.TempDir(), []string{a}, 30)
	key := h.node.ProvKeys["paypay"]

	var dry ImportJSON
	h.ok("", &dry, "grant", "import", "--key", key, "--dry-run", path, "--json")
	if !dry.DryRun || dry.Unsent != 30 || dry.Granted != 0 || dry.Complete {
		t.Fatalf("dry run: %+v", summary(dry))
	}

	// The "earlier run": the same charges in batches of 7, sent while the
	// chain holds still.
	h.node.Hold(true)
	if r := h.run("", "grant", "import", "--key", key, "--batch", "7", "--timeout", "300ms", "--quiet", path); r.code != ExitFailure ||
		!strings.Contains(r.stderr, "run the same command again") {
		t.Fatalf("interrupted run: %s", r)
	}
	h.node.Hold(false)
	var out ImportJSON
	h.ok("", &out, "grant", "import", "--key", key, "--batch", "10", path, "--json")
	if out.Granted+out.Duplicates != 30 || out.Granted < 1 || out.Rejected != 0 || out.Conflicts != 0 {
		t.Fatalf("rerun: %+v", summary(out))
	}
	if out.Batches[0].Stage != "block" || out.Batches[0].Code != 14 {
		t.Fatalf("the rerun's first batch, all duplicates, was not rejected in a block as duplicate charges: %+v", out.Batches)
	}
	var tot ProviderTotalsJSON
	h.ok("", &tot, "query", "totals", "--program", rpctest.Program, "--provider", "paypay", "--json")
	if tot.GrantedYen != want || tot.Grants != 30 {
		t.Fatalf("ledger totals %+v, want %d yen in 30 grants", tot, want)
	}
}

func summary(o ImportJSON) string {
	o.Results = o.Results[:min(len(o.Results), 3)]
	return fmt.Sprintf("%+v", o)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	bz, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(bz)
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
