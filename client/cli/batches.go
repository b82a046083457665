package cli

import (
	"context"
	"fmt"

	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
)

// sendBatches sends the transactions in order, keeping up to inflight of
// them waiting for a block, and calls done for each in order. It stops at
// the first error (the batches after it are not sent).
func (c *cmdCtx) sendBatches(ctx context.Context, txs []txbuild.Signed, inflight int,
	done func(i int, s txbuild.Signed, res *rpc.Result)) error {
	type waited struct {
		res *rpc.Result
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make([]chan waited, 0, len(txs))
	next := 0 // next batch to report
	report := func() error {
		w := <-queue[next]
		if w.err != nil {
			return w.err
		}
		done(next, txs[next], w.res)
		next++
		return nil
	}
	for i, s := range txs {
		if len(queue)-next >= inflight {
			if err := report(); err != nil {
				return err
			}
		}
		p, err := rpc.Send(ctx, c.n, s.Tx, c.submitOpts())
		if err != nil {
			// Report what was sent before, then stop.
			for next < len(queue) {
				if rerr := report(); rerr != nil {
					return rerr
				}
			}
			return fmt.Errorf("batch %d of %d: %w", i+1, len(txs), err)
		}
		ch := make(chan waited, 1)
		queue = append(queue, ch)
		go func() {
			res, err := p.Wait(ctx)
			ch <- waited{res, err}
		}()
	}
	for next < len(queue) {
		if err := report(); err != nil {
			return err
		}
	}
	return nil
}

// tally counts outcomes.
type tally struct {
	granted, dup, rejected int
	yen                    int64
}

func (t *tally) count(r *ChargeResult) {
	switch r.Outcome {
	case OutcomeGranted:
		t.granted++
		t.yen += r.GrantedYen
	case OutcomeDuplicate:
		t.dup++
	default:
		t.rejected++
	}
}

func countOutcomes(rs []*ChargeResult) tally {
	var t tally
	for _, r := range rs {
		if r != nil {
			t.count(r)
		}
	}
	return t
}
