package store

import "github.com/mykeyledger/mykey/app/proof"

// emptyRoot is the root of the empty SMST (all zero).
func emptyRoot() []byte {
	return make([]byte, RootSize)
}

// trieValue is the value stored in the SMST leaf for a record value
// (proof.LeafValue; see the package documentation for why it is prefixed).
func trieValue(value []byte) []byte { return proof.LeafValue(value) }
