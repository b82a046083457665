package types

import (
	"errors"
	"strings"
)

// MaxNodesPerOwner bounds the P2P node IDs one owner (the government or a
// provider) registers: its validator's node and a few sentries, with room
// to replace them one by one.
const MaxNodesPerOwner = 16

// NodeIDLen is the length of a CometBFT node ID: the hex of the first 20
// bytes of SHA-256 of the node's ed25519 public key.
const NodeIDLen = 40

// ValidNodeID reports whether id is a CometBFT node ID as the ledger
// stores it: 40 lowercase hex digits, the form CometBFT itself prints and
// asks the app about.
func ValidNodeID(id string) bool {
	if len(id) != NodeIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ValidateNodeIDs checks one owner's node ID list: each a valid node ID,
// no duplicates, at most MaxNodesPerOwner. Uniqueness across owners is the
// caller's (GenesisState.Validate, the ledger's set_nodes).
func ValidateNodeIDs(ids []string) error {
	var errs []error
	for _, p := range nodeIDProblems("", ids) {
		errs = append(errs, errors.New(strings.TrimPrefix(p.Error(), "genesis: ")))
	}
	return errors.Join(errs...)
}

// nodeIDProblems checks an owner's node_ids; field names the owner in
// messages ("providers[1]"), or is empty.
func nodeIDProblems(field string, ids []string) genesisProblems {
	if field != "" {
		field += "."
	}
	var ps genesisProblems
	if len(ids) > MaxNodesPerOwner {
		ps.add("%snode_ids lists %d node IDs, at most %d", field, len(ids), MaxNodesPerOwner)
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		switch {
		case !ValidNodeID(id):
			ps.add("%snode_ids[%d] %q is not a node ID (%d lowercase hex digits)", field, i, id, NodeIDLen)
		case seen[id]:
			ps.add("%snode_ids[%d] %s: duplicate node ID", field, i, id)
		}
		seen[id] = true
	}
	return ps
}
