package store

import (
	"crypto/sha256"
	"fmt"

	"github.com/pokt-network/smt"
)

// emptyRoot is the root of the empty SMST (all zero).
func emptyRoot() []byte {
	return make([]byte, RootSize)
}

// newTrieSpec returns a fresh spec (its hasher is not shared).
func newTrieSpec() *smt.TrieSpec {
	spec := smt.NewTrieSpec(sha256.New(), true)
	return &spec
}

// trieValue is the value stored in the SMST leaf for a record value; see
// the package documentation for why it is prefixed.
func trieValue(value []byte) []byte {
	out := make([]byte, 1+len(value))
	copy(out[1:], value)
	return out
}

// RootSum returns the total weight committed to by root.
func RootSum(root []byte) (uint64, error) {
	if len(root) != RootSize {
		return 0, fmt.Errorf("store: root of %d bytes, want %d", len(root), RootSize)
	}
	return smt.MerkleSumRoot(root).Sum()
}

// RootCount returns the number of records committed to by root.
func RootCount(root []byte) (uint64, error) {
	if len(root) != RootSize {
		return 0, fmt.Errorf("store: root of %d bytes, want %d", len(root), RootSize)
	}
	return smt.MerkleSumRoot(root).Count()
}
