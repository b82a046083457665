package proof

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/pokt-network/smt"
)

// The root format and the trie's hashing, as the store computes them and
// a verifier checks them (see the package documentation).
const (
	// DigestSize is the size of a node digest (sha256).
	DigestSize = sha256.Size
	// RootSize is the size of an SMST root: digest, sum and count.
	RootSize = DigestSize + 16
	// LeafDataSize is the size of smt's encoding of a leaf node (the
	// non-membership data of an absence proof): prefix, path, value hash,
	// sum and count.
	LeafDataSize = 1 + DigestSize + RootSize
	// MaxKeySize is the largest record key.
	MaxKeySize = 4096
)

var (
	// ErrInvalidKey is returned for an empty or too long record key.
	ErrInvalidKey = errors.New("invalid record key")
	// ErrInvalidProof is returned when a proof does not verify.
	ErrInvalidProof = errors.New("invalid proof")
)

// TrieSpec returns a fresh spec of the trie: pokt-network/smt's sparse
// Merkle sum trie with sha256 (its hasher is not shared).
func TrieSpec() *smt.TrieSpec {
	spec := smt.NewTrieSpec(sha256.New(), true)
	return &spec
}

// LeafValue is the value held in the trie leaf of a record value: 0x00 ||
// value. smt treats an empty value with a zero weight as absent when it
// verifies a proof; with the prefix an empty record value is provable like
// any other.
func LeafValue(value []byte) []byte {
	out := make([]byte, 1+len(value))
	copy(out[1:], value)
	return out
}

// RootSum returns the total weight committed to by root.
func RootSum(root []byte) (uint64, error) {
	if len(root) != RootSize {
		return 0, fmt.Errorf("proof: root of %d bytes, want %d", len(root), RootSize)
	}
	return smt.MerkleSumRoot(root).Sum()
}

// RootCount returns the number of records committed to by root.
func RootCount(root []byte) (uint64, error) {
	if len(root) != RootSize {
		return 0, fmt.Errorf("proof: root of %d bytes, want %d", len(root), RootSize)
	}
	return smt.MerkleSumRoot(root).Count()
}

// CheckKey returns ErrInvalidKey for an empty key or one longer than
// MaxKeySize.
func CheckKey(key []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	return nil
}
