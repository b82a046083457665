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

// RefusedError is a query the node answered with an error code: it does
// not serve the record or range (a public endpoint serves only the public
// side of the state), or could not answer. It says nothing against the
// node.
type RefusedError struct {
	Node string
	Key  string // the record or range prefix
	Code uint32
	Log  string
	// Range is set for a range query.
	Range bool
}

func (e *RefusedError) Error() string {
	what := "query"
	if e.Range {
		what = "range query"
	}
	return fmt.Sprintf("lightverify: node %s refused the %s of %s: %s (code %d)", e.Node, what, e.Key, e.Log, e.Code)
}
