package genesis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

func testNodeID(i int) string { return fmt.Sprintf("%040x", 0xabc000+i) }

func TestNodeIDs(t *testing.T) {
	withNodes := func(t *testing.T) *Document {
		d := validDoc(t)
		d.AppState.Government.NodeIDs = []string{testNodeID(1)}
		d.AppState.Providers[0].NodeIDs = []string{testNodeID(2), testNodeID(3)}
		return d
	}
	d := withNodes(t)
	if err := d.Validate(); err != nil {
		t.Fatalf("valid node IDs rejected: %v", err)
	}
	// node_ids survive the JSON app state.
	bz, err := json.Marshal(d.AppState)
	if err != nil {
		t.Fatal(err)
	}
	a, err := types.DecodeGenesisState(bz)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Providers[0].NodeIDs, d.AppState.Providers[0].NodeIDs) || !slices.Equal(a.Government.NodeIDs, d.AppState.Government.NodeIDs) {
		t.Fatalf("node_ids after a JSON round trip: %v %v", a.Government.NodeIDs, a.Providers[0].NodeIDs)
	}

	tooMany := make([]string, types.MaxNodesPerOwner+1)
	for i := range tooMany {
		tooMany[i] = testNodeID(100 + i)
	}
	for name, c := range map[string]struct {
		edit func(a *types.GenesisState)
		want string
	}{
		"upper case": {func(a *types.GenesisState) { a.Providers[1].NodeIDs = []string{strings.ToUpper(testNodeID(9))} },
			`providers[1].node_ids[0] "` + strings.ToUpper(testNodeID(9)) + `" is not a node ID (40 lowercase hex digits)`},
		"short": {func(a *types.GenesisState) { a.Government.NodeIDs = []string{"abc"} },
			`government.node_ids[0] "abc" is not a node ID`},
		"duplicate in a list": {func(a *types.GenesisState) { a.Providers[0].NodeIDs = append(a.Providers[0].NodeIDs, testNodeID(2)) },
			"providers[0].node_ids[2] " + testNodeID(2) + ": duplicate node ID"},
		"duplicate across owners": {func(a *types.GenesisState) { a.Providers[2].NodeIDs = []string{testNodeID(1)} },
			"providers[2].node_ids[0] " + testNodeID(1) + ": node ID also registered to government"},
		"too many": {func(a *types.GenesisState) { a.Providers[1].NodeIDs = tooMany },
			fmt.Sprintf("providers[1].node_ids lists %d node IDs, at most %d", types.MaxNodesPerOwner+1, types.MaxNodesPerOwner)},
	} {
		t.Run(name, func(t *testing.T) {
			d := withNodes(t)
			c.edit(&d.AppState)
			err := d.Validate()
			if err == nil || !strings.Contains(err.Error(), "genesis: "+c.want) {
				t.Fatalf("Validate = %v\nwant a message %q", err, c.want)
			}
		})
	}
	if err := types.ValidateNodeIDs([]string{"x"}); err == nil || strings.HasPrefix(err.Error(), "genesis:") {
		t.Fatalf("ValidateNodeIDs: %v", err)
	}
}
