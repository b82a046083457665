package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"
)

// fakeNode answers broadcast_tx_sync calls by the transaction's text:
// "full<N>/..." finds the mempool full N times, then is accepted;
// "refuse/..." is refused by CheckTx; "rpc/..." fails as a call; anything
// else is accepted. It records when each call was made.
type fakeNode struct {
	mu    sync.Mutex
	calls map[string][]time.Time
}

func (f *fakeNode) send(_ context.Context, _ string, tx []byte) (*ctypes.ResultBroadcastTx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := string(tx)
	f.calls[s] = append(f.calls[s], time.Now())
	switch {
	case strings.HasPrefix(s, "full"):
		n, _ := strconv.Atoi(s[4:strings.IndexByte(s, '/')])
		if len(f.calls[s]) <= n {
			return nil, errors.New(`error in json rpc client, with http response metadata: (Status: 200 OK, Protocol HTTP/1.1). RPC error -32603 - Internal error: mempool is full: number of txs 5000 (max: 5000)`)
		}
	case strings.HasPrefix(s, "refuse"):
		return &ctypes.ResultBroadcastTx{Code: 12, Log: "unknown provider"}, nil
	case strings.HasPrefix(s, "rpc"):
		return nil, errors.New("post failed: connection refused")
	}
	return &ctypes.ResultBroadcastTx{}, nil
}

func newFakeSending(g *loadgen) (*sending, *fakeNode) {
	f := &fakeNode{calls: map[string][]time.Time{}}
	return &sending{g: g, ctx: context.Background(), sentAt: map[[32]byte]time.Time{}, send: f.send, retryPause: 5 * time.Millisecond}, f
}

// Each way a call ends is counted on its own, and an accepted
// transaction's latency runs from its first call, not from the retry that
// got into the mempool.
func TestBroadcastCountsEachOutcome(t *testing.T) {
	s, f := newFakeSending(&loadgen{})
	txs := []string{"ok/1", "ok/2", "full3/1", "full1/2", "refuse/1", "refuse/2", "refuse/3", "rpc/1"}
	for _, tx := range txs {
		s.sent++
		s.broadcast(txItem{tx: []byte(tx)})
	}
	var p phase
	s.counts(&p)
	if p.Sent != 8 || p.Accepted != 4 || p.Refused != 3 || p.RPCErrors != 1 || p.MempoolFullRetries != 4 || p.MempoolFullAbandoned != 0 {
		t.Fatalf("counts: sent %d, accepted %d, refused %d, rpc errors %d, full retries %d, abandoned %d; want 8, 4, 3, 1, 4, 0",
			p.Sent, p.Accepted, p.Refused, p.RPCErrors, p.MempoolFullRetries, p.MempoolFullAbandoned)
	}
	if p.FirstRefusal != "code 12: unknown provider" || !strings.Contains(p.FirstRPCError, "connection refused") {
		t.Fatalf("first refusal %q, first RPC error %q", p.FirstRefusal, p.FirstRPCError)
	}
	calls := f.calls["full3/1"]
	if len(calls) != 4 {
		t.Fatalf("full3/1: %d calls, want 4", len(calls))
	}
	at := s.sentAt[sha256Of("full3/1")]
	if at.After(calls[0]) || calls[0].Sub(at) > calls[3].Sub(calls[0]) {
		t.Fatalf("full3/1 timed from %v; first call %v, accepted call %v", at, calls[0], calls[3])
	}
	for _, tx := range []string{"refuse/1", "rpc/1"} {
		if _, ok := s.sentAt[sha256Of(tx)]; ok {
			t.Fatalf("%s is not accepted but is timed", tx)
		}
	}
}

// A transaction that finds the mempool full once the phase is over is
// given up, and counted so.
func TestBroadcastGivesUpAFullMempoolAfterThePhase(t *testing.T) {
	s, _ := newFakeSending(&loadgen{duration: time.Second})
	s.stopAt = time.Now().Add(-time.Millisecond)
	s.sent++
	s.broadcast(txItem{tx: []byte("full9/1")})
	var p phase
	s.counts(&p)
	if p.Accepted != 0 || p.MempoolFullRetries != 1 || p.MempoolFullAbandoned != 1 || p.Refused != 0 || p.RPCErrors != 0 {
		t.Fatalf("counts %+v", p)
	}
}

// "mempool is full" in a CheckTx answer's log is a full mempool too.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		res  *ctypes.ResultBroadcastTx
		err  error
		want sendOutcome
	}{
		{&ctypes.ResultBroadcastTx{}, nil, sendAccepted},
		{&ctypes.ResultBroadcastTx{Code: 1, Log: "mempool is full"}, nil, sendMempoolFull},
		{&ctypes.ResultBroadcastTx{Code: 3, Log: "bad signature"}, nil, sendRefused},
		{nil, errors.New("mempool is full: 5000"), sendMempoolFull},
		{nil, context.DeadlineExceeded, sendRPCError},
		{nil, nil, sendRPCError},
	} {
		if got, _ := classify(c.res, c.err); got != c.want {
			t.Errorf("classify(%+v, %v) = %d, want %d", c.res, c.err, got, c.want)
		}
	}
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestVmRSS(t *testing.T) {
	status := "Name:\tmykeyd\nVmPeak:\t 2000000 kB\nVmRSS:\t  1572864 kB\nThreads:\t12\n"
	if kb, ok := vmRSSKiB(status); !ok || kb != 1572864 {
		t.Fatalf("VmRSS: %d %v", kb, ok)
	}
	if _, ok := vmRSSKiB("Name:\tzombie\n"); ok {
		t.Fatal("VmRSS found in a status without it")
	}
	// This process stands for a node.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "node0.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	peaks := sampleRSS(ctx, dir, 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	cancel()
	if m := <-peaks; m["node0"] <= 0 || len(m) != 1 {
		t.Fatalf("peaks %v", m)
	}
	if m := <-sampleRSS(context.Background(), t.TempDir(), time.Millisecond); m != nil {
		t.Fatalf("no PID files, peaks %v", m)
	}
}

// The text report names each count and the sweep.
func TestReportShowsCountsAndSweep(t *testing.T) {
	p := &phase{Name: "links", Drained: true, ItemsPerS: 600, Refused: 3, MempoolFullRetries: 7, RPCErrors: 2, WindowTxs: 64,
		ChosenWindowTxs: 64, RSSPeakMiB: map[string]int{"node0": 900, "node1": 950},
		Sweep: []*sweepStep{{WindowTxs: 32, ItemsPerS: 500, P95ms: 1500, Drained: true}, {WindowTxs: 64, ItemsPerS: 600, P95ms: 2500, Drained: true, Stop: "last window"}}}
	var b bytes.Buffer
	printTable(&b, &result{App: "mykey", Phases: []*phase{p}, RSSPeakMiB: p.RSSPeakMiB}, nil)
	out := b.String()
	for _, want := range []string{"refused", "full-rt", "rpc-err", "sweep links: chose window 64", "* window    64", "stop: last window", "node0 900, node1 950"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "       3        7       2") {
		t.Errorf("report's counts:\n%s", out)
	}
}
