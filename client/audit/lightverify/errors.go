package lightverify

import (
	"errors"
	"fmt"
)

// ProofError is an answer its proof does not support, or a malformed
// answer: the node is not to be trusted.
type ProofError struct {
	Node   string // the node's RPC URL
	Key    string // the record or range prefix
	Height int64  // the height the node claimed
	Err    error
}

func (e *ProofError) Error() string {
	return fmt.Sprintf("lightverify: node %s answered %q at height %d with data its proof does not support: %v; do not trust this node",
		e.Node, e.Key, e.Height, e.Err)
}

func (e *ProofError) Unwrap() error { return e.Err }

// HeaderError is a header the light client could not verify from the
// trust anchor.
type HeaderError struct {
	Node   string
	Height int64
	Err    error
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("lightverify: the header of block %d from node %s does not verify from the trust anchor: %v; do not trust this node",
		e.Height, e.Node, e.Err)
}

func (e *HeaderError) Unwrap() error { return e.Err }

// Untrusted reports whether err says a node gave data that failed
// verification, and names that node.
func Untrusted(err error) (node string, ok bool) {
	var pe *ProofError
	if errors.As(err, &pe) {
		return pe.Node, true
	}
	var he *HeaderError
	if errors.As(err, &he) {
		return he.Node, true
	}
	return "", false
}
