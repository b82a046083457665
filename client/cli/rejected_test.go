package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/rpctest"
)

// A charge the ledger rejected is recorded under its reference with its
// code and nothing granted. Sending that reference again is no "already
// granted" duplicate: grant, import and query say it was rejected, and
// why, and no count treats it as a grant.
func TestRejectedChargeStaysRejected(t *testing.T) {
	h := newHarness(t, rpctest.Options{})
	id := h.link(h.node.Card("a"), "paypay", "a")
	key := h.node.ProvKeys["paypay"]
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	path := filepath.Join(t.TempDir(), "charges.csv")
	// One charge earns 250 yen; one yen earns nothing and is rejected.
	writeFile(t, path, fmt.Sprintf("program_id,mykey_id,charge_ref,amount_yen,charged_at\n%s,%s,ok-1,1000,%s\n%s,%s,zero-1,1,%s\n",
		rpctest.Program, id, at, rpctest.Program, id, at))

	var first ImportJSON
	r := h.run("", "grant", "import", "--key", key, path, "--json")
	if err := jsonUnmarshal(r.stdout, &first); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if first.Granted != 1 || first.GrantedYen != 250 || first.Rejected != 1 || first.Duplicates != 0 {
		t.Fatalf("first import: %s", summary(first))
	}

	// The rerun: the granted charge is a duplicate, the rejected one is
	// still rejected, with its reason.
	var again ImportJSON
	r = h.run("", "grant", "import", "--key", key, path, "--json")
	if err := jsonUnmarshal(r.stdout, &again); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if again.Granted != 0 || again.Duplicates != 1 || again.Rejected != 1 || len(again.Results) != 2 {
		t.Fatalf("rerun: %s", summary(again))
	}
	z := again.Results[1]
	if z.ChargeRef != "zero-1" || z.Outcome != OutcomeRejected || z.Code != types.ErrZeroGrant.Code || z.Reason != "zero_grant" ||
		!strings.Contains(z.Log, "rejected") || z.Recorded == nil || z.Recorded.Rejected != "zero_grant" || z.GrantedYen != 0 {
		t.Fatalf("rerun result of the rejected charge: %+v (recorded %+v)", z, z.Recorded)
	}
	r = h.run("", "grant", "import", "--key", key, path)
	if !strings.Contains(r.stdout, "zero-1") || !strings.Contains(r.stdout, "zero_grant") || !strings.Contains(r.stdout, "rejected:   1") ||
		!strings.Contains(r.stdout, "duplicates: 1") {
		t.Errorf("rerun's text output:\n%s", r)
	}

	// One charge: says rejected, not "recorded before ... granted".
	r = h.run("", "grant", "--key", key, "--program", rpctest.Program, "--mykey", id, "--charge-ref", "zero-1", "--amount", "1")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "zero_grant") || strings.Contains(r.stdout+r.stderr, "granted then") ||
		strings.Contains(r.stdout+r.stderr, "nothing more granted") {
		t.Errorf("grant of the rejected reference: %s", r)
	}
	var g GrantJSON
	r = h.run("", "grant", "--key", key, "--program", rpctest.Program, "--mykey", id, "--charge-ref", "zero-1", "--amount", "1", "--json")
	if err := jsonUnmarshal(r.stdout, &g); err != nil || g.Outcome != OutcomeRejected || g.Reason != "zero_grant" {
		t.Errorf("grant --json of the rejected reference: %+v %v\n%s", g, err, r)
	}

	// The query shows the record as rejected.
	var c ChargeJSON
	h.ok("", &c, "query", "charge", "--program", rpctest.Program, "--provider", "paypay", "--ref", "zero-1", "--json")
	if c.Code != types.ErrZeroGrant.Code || c.Rejected != "zero_grant" || c.GrantedYen != 0 {
		t.Errorf("query charge: %+v", c)
	}
	r = h.ok("", nil, "query", "charge", "--program", rpctest.Program, "--provider", "paypay", "--ref", "zero-1")
	if !strings.Contains(r.stdout, "rejected in block") || !strings.Contains(r.stdout, "zero_grant") {
		t.Errorf("query charge text: %s", r)
	}
	var tot ProviderTotalsJSON
	h.ok("", &tot, "query", "totals", "--program", rpctest.Program, "--provider", "paypay", "--json")
	if tot.GrantedYen != 250 || tot.Grants != 1 {
		t.Errorf("ledger totals %+v, want 250 yen in 1 grant", tot)
	}
}
