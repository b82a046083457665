package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/proof"
)

// Record is a protobuf state record.
type Record interface{ Unmarshal([]byte) error }

// Answer is where a query's answer comes from.
type Answer struct {
	Key    string
	Height int64 // the state after this block
	Found  bool
	// Verified is set when the answer's proof was checked against the
	// app hash in the header of block Height+1.
	Verified bool
}

// Get reads the record at key into rec. With prove it also checks the
// answer's Merkle proof (of the value, or of its absence) against the
// app hash in the next block's header, waiting for that block if needed.
func Get(ctx context.Context, n Node, key string, rec Record, prove bool) (*Answer, error) {
	res, err := n.Query(ctx, "/"+key, prove)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, fmt.Errorf("rpc: %s refused the query of %s: %s (code %d)", n.URL(), key, res.Log, res.Code)
	}
	a := &Answer{Key: key, Height: res.Height, Found: Found(res)}
	if prove {
		if err := Verify(ctx, n, key, res); err != nil {
			return nil, err
		}
		a.Verified = true
	}
	if a.Found {
		if err := rec.Unmarshal(res.Value); err != nil {
			return nil, fmt.Errorf("rpc: record %s does not decode: %w (is %s a MyKey Ledger node of this version?)", key, err, n.URL())
		}
	}
	return a, nil
}

// Found tells a record from its absence in a query answer. Over JSON a
// record whose encoding is empty (all fields zero) and a missing record
// both come back without a value; the app says "not found" for the latter.
func Found(res *abci.QueryResponse) bool {
	return len(res.Value) > 0 || (res.Code == 0 && res.Log != "not found")
}

// Verify checks a query answer's proof against the app hash in the header
// of block res.Height+1 from the same node.
func Verify(ctx context.Context, n Node, key string, res *abci.QueryResponse) error {
	if res.ProofOps == nil {
		return fmt.Errorf("rpc: %s gave no proof for %s", n.URL(), key)
	}
	root, err := appHashWait(ctx, n, res.Height+1, 30*time.Second)
	if err != nil {
		return err
	}
	if Found(res) {
		err = proof.VerifyValue(root, []byte(key), res.Value, res.ProofOps)
	} else {
		err = proof.VerifyAbsence(root, []byte(key), res.ProofOps)
	}
	if err != nil {
		return fmt.Errorf("rpc: %s's answer for %s does not match the app hash in its block %d header: do not trust this answer: %w",
			n.URL(), key, res.Height+1, err)
	}
	return nil
}

// appHashWait waits up to timeout for block height and returns its
// header's app hash.
func appHashWait(ctx context.Context, n Node, height int64, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		h, err := n.AppHash(ctx, height)
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, ErrNoBlock) {
			return nil, err
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			return nil, fmt.Errorf("rpc: block %d, needed to verify the answer, did not come within %s", height, timeout)
		}
	}
}
