package testnet

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// pollInterval is how often the waits below look again.
const pollInterval = 100 * time.Millisecond

// WaitFor polls cond until it holds, failing tb after timeout.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if err := waitFor(timeout, what, cond); err != nil {
		tb.Fatal(err)
	}
}

func waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
	return nil
}

// Status returns node i's latest block height, or an error if it does not
// answer within timeout.
func (nw *Network) Status(i int, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := nw.RPC[i].Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// Height returns node i's latest block height (0 if it does not answer
// within 3 s).
func (nw *Network) Height(i int) int64 {
	h, _ := nw.Status(i, 3*time.Second)
	return h
}

// MustHeight is Height, failing tb if node i does not answer within 5 s.
func (nw *Network) MustHeight(tb testing.TB, i int) int64 {
	tb.Helper()
	h, err := nw.Status(i, 5*time.Second)
	if err != nil {
		tb.Fatalf("node %d: status: %v", i, err)
	}
	return h
}

// MaxHeight is the highest height among the given nodes.
func (nw *Network) MaxHeight(nodes ...int) int64 {
	var h int64
	for _, i := range nodes {
		h = max(h, nw.Height(i))
	}
	return h
}

// WaitHeight waits up to timeout until node i has block h.
func (nw *Network) WaitHeight(tb testing.TB, i int, h int64, timeout time.Duration) {
	tb.Helper()
	if err := nw.waitHeight(i, h, timeout); err != nil {
		tb.Fatal(err)
	}
}

func (nw *Network) waitHeight(i int, h int64, timeout time.Duration) error {
	return waitFor(timeout, fmt.Sprintf("node %d to reach height %d", i, h), func() bool { return nw.Height(i) >= h })
}
