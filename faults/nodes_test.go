package faults

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testnet"
)

// Faults: each declares the node down before it acts.

func (c *cluster) disconnect(tb testing.TB, i int) {
	c.setUp(i, false)
	c.docker(tb, "network", "disconnect", c.nw.P2PNetwork, c.container(i))
	c.fault("partition of node %d (docker network disconnect)", i)
}

func (c *cluster) connect(tb testing.TB, i int) {
	c.docker(tb, "network", "connect", "--ip", c.nw.Nodes[i].P2PIP, c.nw.P2PNetwork, c.container(i))
	c.waitRejoin(tb, i)
}

func (c *cluster) kill(tb testing.TB, i int) {
	c.setUp(i, false)
	c.docker(tb, "kill", "--signal", "KILL", c.container(i))
	c.fault("SIGKILL of node %d", i)
}

func (c *cluster) pause(tb testing.TB, i int) {
	c.setUp(i, false)
	c.docker(tb, "pause", c.container(i))
	c.fault("pause of node %d (docker pause)", i)
}

func (c *cluster) unpause(tb testing.TB, i int) {
	c.docker(tb, "unpause", c.container(i))
	c.waitRejoin(tb, i)
}

// stop stops node i with SIGTERM and requires a clean exit.
func (c *cluster) stop(tb testing.TB, i int) {
	tb.Helper()
	c.setUp(i, false)
	start := time.Now()
	c.docker(tb, "stop", "--time", "30", c.container(i))
	code := c.docker(tb, "inspect", "--format", "{{.State.ExitCode}}", c.container(i))
	if code != "0" {
		tb.Errorf("node %d exited with status %s after SIGTERM (want a clean exit 0)", i, code)
	}
	tb.Logf("faults: node %d stopped cleanly in %s", i, time.Since(start).Round(100*time.Millisecond))
}

// start starts a stopped or killed node and waits until it has rejoined.
func (c *cluster) start(tb testing.TB, i int) {
	c.docker(tb, "start", c.container(i))
	c.waitRejoin(tb, i)
}

func (c *cluster) fault(format string, args ...any) {
	c.rep.addFault(fmt.Sprintf(format, args...))
}

// setUp declares node i connected or not, for the liveness monitor.
func (c *cluster) setUp(i int, up bool) {
	c.mu.Lock()
	c.up[i] = up
	n := 0
	for _, u := range c.up {
		if u {
			n++
		}
	}
	c.mu.Unlock()
	if c.live != nil {
		c.live.connected(n)
	}
}

// upNodes are the nodes declared connected.
func (c *cluster) upNodes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, u := range c.up {
		if u {
			out = append(out, i)
		}
	}
	return out
}

// waitRejoin waits until node i answers, is not catching up, has every
// connected node as a peer and is within a block of the others; then
// declares it connected.
func (c *cluster) waitRejoin(tb testing.TB, i int) {
	tb.Helper()
	others := 0
	for _, j := range c.upNodes() {
		if j != i {
			others++
		}
	}
	start := time.Now()
	testnet.WaitFor(tb, 120*time.Second, fmt.Sprintf("node %d to rejoin (%d peers, caught up)", i, others), func() bool {
		ctx, cancel := ctxT(2 * time.Second)
		defer cancel()
		st, err := c.comet[i].Status(ctx)
		if err != nil || st.SyncInfo.CatchingUp {
			return false
		}
		ni, err := c.comet[i].NetInfo(ctx)
		if err != nil || ni.NPeers < others {
			return false
		}
		var top int64
		for _, j := range c.upNodes() {
			top = max(top, c.height(j))
		}
		return st.SyncInfo.LatestBlockHeight >= top-1
	})
	c.setUp(i, true)
	tb.Logf("faults: node %d rejoined in %s", i, time.Since(start).Round(100*time.Millisecond))
}

// Status.

func ctxT(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// height is node i's latest height, 0 if it does not answer in time.
func (c *cluster) height(i int) int64 {
	ctx, cancel := ctxT(1500 * time.Millisecond)
	defer cancel()
	st, err := c.comet[i].Status(ctx)
	if err != nil {
		return 0
	}
	return st.SyncInfo.LatestBlockHeight
}

// heights asks every node at once.
func (c *cluster) heights() []int64 {
	hs := make([]int64, validators)
	var wg sync.WaitGroup
	for i := range hs {
		wg.Add(1)
		go func() { defer wg.Done(); hs[i] = c.height(i) }()
	}
	wg.Wait()
	return hs
}

// parallel calls f(0), ..., f(n-1), at most limit of them at once, and
// returns when all have returned.
func parallel(n, limit int, f func(k int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for k := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(k)
		}()
	}
	wg.Wait()
}

func maxOf(hs []int64) int64 {
	var m int64
	for _, h := range hs {
		m = max(m, h)
	}
	return m
}

func minOf(hs []int64) int64 {
	m := hs[0]
	for _, h := range hs[1:] {
		m = min(m, h)
	}
	return m
}

// waitBlocks waits until every node has made n more blocks.
func (c *cluster) waitBlocks(tb testing.TB, n int64) {
	tb.Helper()
	target := maxOf(c.heights()) + n
	testnet.WaitFor(tb, 60*time.Second, fmt.Sprintf("every node at height %d", target), func() bool {
		return minOf(c.heights()) >= target
	})
}
