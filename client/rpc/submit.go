package rpc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Where a submitted transaction's result comes from.
const (
	// StageBlock: the transaction is in a block; Height is set.
	StageBlock = "block"
	// StageCheck: CheckTx refused it; it never entered the mempool.
	StageCheck = "check"
	// StageDropped: it entered the mempool but a later block made it
	// invalid and the mempool dropped it; the result is CheckTx's answer
	// against the newer state.
	StageDropped = "dropped"
)

// Result is the fate of a submitted transaction.
type Result struct {
	Hash      []byte
	Stage     string // StageBlock, StageCheck or StageDropped
	Height    int64  // block height (StageBlock only)
	Code      uint32 // 0: accepted (for several items: at least one accepted)
	Codespace string
	Log       string
	// Events carry each item's outcome; for StageCheck and StageDropped
	// they come from CheckTx, when the node could tell.
	Events []abci.Event
	// Resent: the node already had these exact bytes when they were
	// sent (an earlier run sent them), so the outcome may predate this
	// submission.
	Resent bool
}

// HashHex is the hash as CometBFT prints it (upper-case hex).
func (r *Result) HashHex() string { return strings.ToUpper(hex.EncodeToString(r.Hash)) }

// SubmitOptions tune Submit.
type SubmitOptions struct {
	// Timeout bounds the whole submission, waiting for the commit
	// included (default 60 s).
	Timeout time.Duration
	// Poll is the interval between looks for the commit (default 250 ms).
	Poll time.Duration
}

// TimeoutError is a transaction that entered the mempool but was not seen
// in a block in time. It may still be committed.
type TimeoutError struct {
	Hash    []byte
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("rpc: transaction %X entered the mempool but was not in a block within %s; "+
		"it may still be committed: look with `mykey query tx %X`, or run the command again "+
		"(the ledger never records a link or a charge twice)", e.Hash, e.Timeout, e.Hash)
}

// Submit broadcasts tx and waits for its fate: refused by CheckTx
// (reported at once), or committed in a block (confirmed by its height),
// or dropped from the mempool. A transaction the node already holds, e.g.
// from an interrupted earlier run, is waited for like a new one.
func Submit(ctx context.Context, n Node, tx []byte, opts SubmitOptions) (*Result, error) {
	p, err := Send(ctx, n, tx, opts)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// Pending is a sent transaction: refused at once, or waiting for a block.
type Pending struct {
	n      Node
	tx     []byte
	hash   []byte
	opts   SubmitOptions
	result *Result // set when CheckTx refused it
	sent   time.Time
	resent bool
}

// Hash is the transaction's hash.
func (p *Pending) Hash() []byte { return p.hash }

// Send broadcasts tx and returns once CheckTx has answered. Sending
// transactions one after another keeps their order in the node's mempool;
// their Waits may then run concurrently.
func Send(ctx context.Context, n Node, tx []byte, opts SubmitOptions) (*Pending, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	p := &Pending{n: n, tx: tx, hash: TxHash(tx), opts: opts, sent: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	for {
		b, err := n.Broadcast(ctx, tx)
		switch {
		case err == nil:
		case errors.Is(err, ErrInCache):
			// Sent before (by us or an earlier run): wait for it.
			p.resent = true
		case errors.Is(err, ErrMempoolFull):
			if serr := sleep(ctx, time.Second); serr != nil {
				return nil, fmt.Errorf("rpc: %s stayed full: try again later: %w", n.URL(), err)
			}
			continue
		default:
			return nil, err
		}
		if b != nil && b.Code != 0 {
			p.result = &Result{Hash: p.hash, Stage: StageCheck, Code: b.Code, Codespace: b.Codespace, Log: b.Log}
			explain(ctx, n, tx, p.result)
		}
		return p, nil
	}
}

// Wait returns the transaction's fate (at once if CheckTx refused it).
// It gives up opts.Timeout after Send with a *TimeoutError.
func (p *Pending) Wait(ctx context.Context) (*Result, error) {
	if p.result != nil {
		return p.result, nil
	}
	ctx, cancel := context.WithDeadline(ctx, p.sent.Add(p.opts.Timeout))
	defer cancel()
	r, err := wait(ctx, p.n, p.tx, p.hash, p.opts)
	if r != nil {
		r.Resent = p.resent
	}
	return r, err
}

// explain fills a refused transaction's events from CheckTx (best effort:
// broadcast_tx_sync does not return them).
func explain(ctx context.Context, n Node, tx []byte, r *Result) {
	c, err := n.CheckTx(ctx, tx)
	if err == nil && c.Code != 0 {
		r.Events = c.Events
	}
}

// wait polls for tx in a block. While it waits it asks CheckTx now and
// then whether tx is still valid: if not, and it is still not in a block
// two blocks later, the mempool has dropped it at Recheck.
func wait(ctx context.Context, n Node, tx, hash []byte, opts SubmitOptions) (*Result, error) {
	start := time.Now()
	var (
		refused     *abci.CheckTxResponse
		refusedAt   int64
		lastCheck   = start
		checkPeriod = 2 * time.Second
	)
	for {
		c, err := n.Tx(ctx, hash)
		if err != nil {
			if ctx.Err() != nil {
				return nil, waitErr(ctx, hash, opts)
			}
			return nil, err
		}
		if c != nil {
			return &Result{Hash: hash, Stage: StageBlock, Height: c.Height, Code: c.Result.Code,
				Codespace: c.Result.Codespace, Log: c.Result.Log, Events: c.Result.Events}, nil
		}
		if time.Since(lastCheck) >= checkPeriod {
			lastCheck = time.Now()
			st, err := n.Status(ctx)
			if err == nil {
				switch {
				case refused == nil:
					if ct, err := n.CheckTx(ctx, tx); err == nil && ct.Code != 0 {
						refused, refusedAt = ct, st.Height
					}
				case st.Height > refusedAt+1:
					return &Result{Hash: hash, Stage: StageDropped, Code: refused.Code,
						Codespace: refused.Codespace, Log: refused.Log, Events: refused.Events}, nil
				}
			}
		}
		if err := sleep(ctx, opts.Poll); err != nil {
			return nil, waitErr(ctx, hash, opts)
		}
	}
}

// waitErr is the error of a wait that ended: a timeout, or the caller's
// cancellation.
func waitErr(ctx context.Context, hash []byte, opts SubmitOptions) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &TimeoutError{Hash: hash, Timeout: opts.Timeout}
	}
	return fmt.Errorf("rpc: stopped waiting for transaction %X, which may still be committed: %w", hash, ctx.Err())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
