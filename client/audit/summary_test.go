package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/cli"
)

func TestSummaryMatchesLedger(t *testing.T) {
	f := sharedFixture(t)
	var s audit.SummaryJSON
	r := auditJSON(t, &s, append([]string{"summary"}, f.honest()...)...)
	if r.err != nil {
		t.Fatalf("summary: %v\n%s", r.err, r.stderr)
	}
	t.Logf("summary took %s", r.took)
	if !s.Proof.Verified || s.Proof.Height < f.readyHeight || !strings.Contains(s.Proof.Anchor, "genesis") {
		t.Errorf("proof = %+v, want verified from genesis at a height >= %d", s.Proof, f.readyHeight)
	}
	if int64(s.RootGrantedYen) != f.totalYen || s.ProgramsGrantedYen != f.totalYen || !s.Agree {
		t.Errorf("root %d, programs %d, agree %v; the ledger's events granted %d", s.RootGrantedYen, s.ProgramsGrantedYen, s.Agree, f.totalYen)
	}
	seen := 0
	for _, p := range s.Programs {
		for _, v := range p.Providers {
			k := pair{p.ID, v.ID}
			seen++
			if v.GrantedYen != f.granted[k] || v.Grants != f.grants[k] || v.SettledYen != f.settled[k] ||
				v.RecoveredYen != f.recovered[k] || v.Linked != f.linked[k] {
				t.Errorf("%s/%s: granted %d grants %d settled %d recovered %d linked %d; want %d %d %d %d %d", p.ID, v.ID,
					v.GrantedYen, v.Grants, v.SettledYen, v.RecoveredYen, v.Linked,
					f.granted[k], f.grants[k], f.settled[k], f.recovered[k], f.linked[k])
			}
			if v.OutstandingYen != v.GrantedYen-v.SettledYen-v.RecoveredYen {
				t.Errorf("%s/%s: outstanding %d", p.ID, v.ID, v.OutstandingYen)
			}
		}
		if p.ID == "spring" && p.BudgetLeftYen != 1_000_000_000-p.GrantedYen {
			t.Errorf("spring budget left %d", p.BudgetLeftYen)
		}
	}
	if seen != 5 {
		t.Errorf("%d provider rows, want 5 (3 in spring, 2 in mynapoint)", seen)
	}

	// The text form says where its figures are proved.
	r = runAudit(t, append([]string{"summary"}, f.honest()...)...)
	if r.err != nil || !strings.Contains(r.stdout, "Proved at height") || !strings.Contains(r.stdout, "matches the program totals") {
		t.Errorf("summary text: %v\n%s", r.err, r.stdout)
	}
}

// Mounted under mykey's root, which has --node, --network and --json for
// every command, these flags work before or after "audit".
func TestMountedUnderRoot(t *testing.T) {
	f := sharedFixture(t)
	var out, errb bytes.Buffer
	args := []string{"--json", "audit", "summary", "--node", f.net.rpcURL, "--genesis", f.net.genesis}
	if err := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var s audit.SummaryJSON
	if err := json.Unmarshal(out.Bytes(), &s); err != nil || int64(s.RootGrantedYen) != f.totalYen {
		t.Fatalf("%v: %s", err, out.String())
	}
}
