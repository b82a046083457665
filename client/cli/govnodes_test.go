package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/internal/rpctest"
)

// TestGovSetNodes: set-nodes registers an owner's P2P nodes, which the
// ledger's peer filter then admits; malformed lists are refused before
// anything is signed, conflicting ones by the ledger.
func TestGovSetNodes(t *testing.T) {
	h := newHarness(t, rpctest.Options{GovKeys: 2, Threshold: 2})
	keys := []string{"--key", h.node.GovKeys[0], "--key", h.node.GovKeys[1]}
	a, b := strings.Repeat("a1", 20), strings.Repeat("b2", 20)
	filter := func(id string) uint32 {
		t.Helper()
		res, err := h.node.Query(context.Background(), "/p2p/filter/id/"+id, false)
		if err != nil {
			t.Fatal(err)
		}
		return res.Code
	}
	if filter(a) == 0 {
		t.Fatal("an unregistered node is admitted")
	}
	var g GovJSON
	// Upper case is accepted and stored as CometBFT prints IDs.
	h.ok("", &g, append([]string{"gov", "set-nodes", "--owner", "paypay", "--node-id", strings.ToUpper(a), "--node-id", b, "--json"}, keys...)...)
	if g.Code != 0 || !strings.Contains(g.Summary, `set 2 node(s) of "paypay"`) {
		t.Fatalf("set-nodes: %+v", g)
	}
	if filter(a) != 0 || filter(b) != 0 {
		t.Fatal("registered nodes are refused")
	}
	for _, bad := range [][]string{
		{"--owner", "paypay", "--node-id", "abc"},
		{"--owner", "paypay", "--node-id", a, "--node-id", a},
		{"--owner", "paypay"},
		{"--owner", "paypay", "--none", "--node-id", a},
		{"--node-id", a},
	} {
		r := h.run("", append(append([]string{"gov", "set-nodes"}, bad...), keys...)...)
		if r.code != ExitUsage {
			t.Fatalf("set-nodes %v: %s", bad, r)
		}
	}
	// The ledger refuses a node registered to another owner, and an
	// unknown owner.
	r := h.run("", append([]string{"gov", "set-nodes", "--owner", "linepay", "--node-id", a}, keys...)...)
	if r.code != ExitRejected || !strings.Contains(r.stderr, "invalid_action") || !strings.Contains(r.stderr, `registered to "paypay"`) {
		t.Fatalf("node of another owner: %s", r)
	}
	r = h.run("", append([]string{"gov", "set-nodes", "--owner", "nopay", "--node-id", a}, keys...)...)
	if r.code != ExitRejected || !strings.Contains(r.stderr, "unknown_provider") {
		t.Fatalf("unknown owner: %s", r)
	}
	// --none removes them all.
	h.ok("", &g, append([]string{"gov", "set-nodes", "--owner", "paypay", "--none", "--json"}, keys...)...)
	if filter(a) == 0 || filter(b) == 0 {
		t.Fatal("removed nodes are admitted")
	}
}
