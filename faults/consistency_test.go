package faults

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/mykeyledger/mykey/app/types"
)

// The checks run after every fault has healed and the storm has drained.

// volatileKeys change with every block whatever the transactions (the
// last block time); records are compared without them.
var volatileKeys = map[string]bool{"meta/blocktime": true}

// drain waits until no node holds a transaction in its mempool, twice,
// two blocks apart: then every transaction sent is in a block or gone for
// good, and the transaction index has caught up.
func (c *cluster) drain(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	emptyAt := int64(-1)
	for {
		total := 0
		for i := range validators {
			ctx, cancel := ctxT(3 * time.Second)
			r, err := c.comet[i].NumUnconfirmedTxs(ctx)
			cancel()
			if err != nil {
				total = -1
				break
			}
			total += r.Total
		}
		h := maxOf(c.heights())
		switch {
		case total != 0:
			emptyAt = -1
		case emptyAt < 0:
			emptyAt = h
		case h >= emptyAt+2:
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("faults: mempools not drained after 2 minutes (%d transactions left)", total)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkAppHashes checks, for every height not checked yet, that all nodes
// have the same header app hash, and that each node's own app hash after
// executing the block (its block results) is the one in the next header.
func (s *suite) checkAppHashes(tb testing.TB) {
	tb.Helper()
	c := s.c
	to := minOf(c.heights()) - 1
	from := s.checkedTo + 1
	if to < from {
		return
	}
	headers := make([]map[int64][]byte, validators)
	results := make([]map[int64][]byte, validators)
	errs := make([]error, validators)
	var wg sync.WaitGroup
	for i := range validators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			headers[i], results[i], errs[i] = c.appHashes(i, from, to)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("faults: node %d: %v", i, err)
		}
	}
	bad := 0
	for h := from; h <= to; h++ {
		want := headers[0][h+1]
		for i := range validators {
			if got := headers[i][h+1]; !bytes.Equal(got, want) {
				tb.Errorf("height %d: node %d's header app hash %X, node 0's %X", h+1, i, got, want)
				bad++
			}
			if got := results[i][h]; !bytes.Equal(got, want) {
				tb.Errorf("height %d: node %d computed app hash %X, the next header has %X", h, i, got, want)
				bad++
			}
		}
		if bad > 10 {
			tb.FailNow()
		}
	}
	s.checkedTo = to
	s.rep.add(func(r *report) { r.heightsCompared += to - from + 1 })
}

// appHashes returns node i's header app hashes for heights from+1..to+1
// and its own computed ones (block results) for from..to.
func (c *cluster) appHashes(i int, from, to int64) (map[int64][]byte, map[int64][]byte, error) {
	headers, results := map[int64][]byte{}, map[int64][]byte{}
	for hi := to + 1; hi > from; hi -= 20 {
		lo := max(from+1, hi-19)
		ctx, cancel := ctxT(10 * time.Second)
		r, err := c.comet[i].BlockchainInfo(ctx, lo, hi)
		cancel()
		if err != nil {
			return nil, nil, fmt.Errorf("blockchain %d-%d: %w", lo, hi, err)
		}
		for _, m := range r.BlockMetas {
			headers[m.Header.Height] = m.Header.AppHash
		}
	}
	var mu sync.Mutex
	var firstErr error
	parallel(int(to-from+1), 4, func(k int) {
		h := from + int64(k)
		ctx, cancel := ctxT(10 * time.Second)
		defer cancel()
		r, err := c.comet[i].BlockResults(ctx, &h)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("block results %d: %w", h, err)
			}
			return
		}
		results[h] = r.AppHash
	})
	return headers, results, firstErr
}

// dump is every record of a node's ledger but the volatile ones.
type dump map[string][]byte

// dump reads node i's whole ledger, a page of "/range" at a time.
func (c *cluster) dump(tb testing.TB, i int) dump {
	tb.Helper()
	out := dump{}
	after := ""
	for {
		q := &types.RangeQuery{StartAfter: after, Limit: 1000}
		data, err := q.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := ctxT(20 * time.Second)
		res, err := c.comet[i].ABCIQueryWithOptions(ctx, "/range", data, rpcclient.ABCIQueryOptions{})
		cancel()
		if err != nil {
			tb.Fatalf("faults: node %d: range query: %v", i, err)
		}
		if res.Response.Code != 0 {
			tb.Fatalf("faults: node %d: range query: code %d: %s", i, res.Response.Code, res.Response.Log)
		}
		var rr types.RangeResult
		if err := rr.Unmarshal(res.Response.Value); err != nil {
			tb.Fatalf("faults: node %d: range result: %v", i, err)
		}
		for _, r := range rr.Records {
			if !volatileKeys[r.Key] {
				out[r.Key] = r.Value
			}
		}
		if rr.Next == "" {
			return out
		}
		after = rr.Next
	}
}

// dumpAll dumps every node's ledger and checks that they hold the same
// records.
func (s *suite) dumpAll(tb testing.TB) []dump {
	tb.Helper()
	ds := make([]dump, validators)
	for i := range ds {
		ds[i] = s.c.dump(tb, i)
	}
	for i := 1; i < validators; i++ {
		if diff := diffDumps(ds[0], ds[i]); diff != "" {
			tb.Errorf("node %d's records differ from node 0's:\n%s", i, diff)
		}
	}
	s.rep.add(func(r *report) { r.recordsCompared += int64(len(ds[0]) * validators) })
	return ds
}

// diffDumps describes the first differences between two dumps ("" if
// none).
func diffDumps(a, b dump) string {
	var lines []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		va, oka := a[k]
		vb, okb := b[k]
		switch {
		case oka && !okb:
			lines = append(lines, "  only in the first: "+k)
		case okb && !oka:
			lines = append(lines, "  only in the second: "+k)
		case !bytes.Equal(va, vb):
			lines = append(lines, "  different: "+k)
		}
		if len(lines) == 10 {
			lines = append(lines, "  …")
			break
		}
	}
	return strings.Join(lines, "\n")
}
