package faults

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Liveness limits: with three of four validators connected, blocks must
// keep coming; a round whose proposer is missing costs a few seconds.
const (
	maxStall    = 20 * time.Second
	stallGrace  = 5 * time.Second // after a quorum returns
	samplePause = 250 * time.Millisecond
)

// liveness samples the network's height and checks that it grows
// whenever at least three validators are declared connected. A node is
// declared down before a fault is injected and up only once it has
// rejoined, so the declared count never overstates the real one.
type liveness struct {
	c    *cluster
	done chan struct{}
	wg   sync.WaitGroup

	mu         sync.Mutex
	n          int       // declared connected validators
	quorumFrom time.Time // since when n >= 3 (plus grace), zero if n < 3
	lastH      int64
	lastInc    time.Time
	longest    time.Duration // longest stall with n >= 3
	violations []string
	inStall    bool
}

func startLiveness(c *cluster) *liveness {
	now := time.Now()
	l := &liveness{c: c, done: make(chan struct{}), n: validators, quorumFrom: now, lastInc: now}
	l.wg.Add(1)
	go l.loop()
	return l
}

func (l *liveness) stop() {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	l.wg.Wait()
}

func (l *liveness) connected(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case n >= 3 && l.n < 3:
		l.quorumFrom = time.Now().Add(stallGrace)
	case n < 3:
		l.quorumFrom = time.Time{}
	}
	l.n = n
}

func (l *liveness) loop() {
	defer l.wg.Done()
	tick := time.NewTicker(samplePause)
	defer tick.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		h := maxOf(l.c.heights())
		now := time.Now()
		l.mu.Lock()
		if h > l.lastH {
			l.lastH, l.lastInc, l.inStall = h, now, false
		}
		if !l.quorumFrom.IsZero() && now.After(l.quorumFrom) {
			from := l.lastInc
			if l.quorumFrom.After(from) {
				from = l.quorumFrom
			}
			stall := now.Sub(from)
			l.longest = max(l.longest, stall)
			if stall > maxStall && !l.inStall {
				l.inStall = true
				l.violations = append(l.violations, fmt.Sprintf("%s: no block for %s at height %d with %d of %d validators connected",
					now.Format(time.TimeOnly), stall.Round(time.Second), h, l.n, validators))
			}
		}
		l.mu.Unlock()
	}
}

// check fails tb for every stall seen so far, and returns the longest.
func (l *liveness) check(tb testing.TB) time.Duration {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.violations {
		tb.Errorf("liveness: %s", v)
	}
	l.violations = nil
	return l.longest
}
