package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// txItem is a transaction to send to a node and the items it carries.
type txItem struct {
	node  string // node name (a provider ID)
	tx    []byte
	items int
}

// phase is what one phase of load committed.
type phase struct {
	Name string `json:"name"`
	// Pool is how many transactions were ready before the clock started
	// (-1: made while sending, kvstore transactions cost nothing to make),
	// PresignSeconds how long signing them took, outside the window.
	Pool           int     `json:"pool_txs"`
	PoolItems      int     `json:"pool_items"`
	PresignSeconds float64 `json:"presign_seconds"`
	// TargetSeconds is --duration (0: send the whole pool); LoadSeconds
	// how long transactions were sent; Exhausted that the pool ran out
	// before TargetSeconds.
	TargetSeconds float64 `json:"target_seconds"`
	LoadSeconds   float64 `json:"load_seconds"`
	Exhausted     bool    `json:"exhausted"`
	// DrainSeconds is the wait after the load for what was accepted to
	// commit; Drained that everything accepted did (within --drain).
	DrainSeconds float64 `json:"drain_seconds"`
	Drained      bool    `json:"drained"`
	Inflight     int     `json:"inflight"`
	WindowTxs    int     `json:"window_txs,omitempty"`
	TxBytes      int     `json:"tx_bytes_avg"`
	ItemsPerTx   float64 `json:"items_per_tx"`

	// Sent is the transactions sent at least once. Each ends one way:
	// Accepted by CheckTx; Refused by CheckTx (a non-zero code); an RPC
	// error (RPCErrors: the call failed, the transaction is not known to
	// be in a mempool); or given up while a mempool was full at the end of
	// the phase (MempoolFullAbandoned). MempoolFullRetries counts the
	// calls answered "mempool is full", each sent again after a pause.
	Sent                 int    `json:"sent"`
	Accepted             int    `json:"accepted_by_checktx"`
	Refused              int    `json:"refused_by_checktx"`
	FirstRefusal         string `json:"first_refusal,omitempty"`
	MempoolFullRetries   int    `json:"mempool_full_retries"`
	MempoolFullAbandoned int    `json:"mempool_full_abandoned"`
	RPCErrors            int    `json:"rpc_errors"`
	FirstRPCError        string `json:"first_rpc_error,omitempty"`
	CommittedTx          int    `json:"committed_txs"`
	CommittedOK          int    `json:"committed_ok"`
	Items                int    `json:"committed_items"`
	FirstHeight          int64  `json:"first_height"`
	LastHeight           int64  `json:"last_height"`
	Blocks               int64  `json:"blocks"`
	// Seconds is block time from the block before the phase's first to
	// its last block holding a phase transaction; the rates are over it.
	Seconds     float64 `json:"seconds"`
	BlocksPerS  float64 `json:"blocks_per_s"`
	TxPerS      float64 `json:"committed_tx_per_s"`
	ItemsPerS   float64 `json:"committed_items_per_s"`
	MaxBlockTxs int     `json:"max_block_txs"`
	MaxBlockMiB float64 `json:"max_block_mib"`
	// Latency is from the start of the transaction's first
	// broadcast_tx_sync call (not of a retry after a full mempool) to the
	// moment the loadgen saw (NewBlockEvents, node 0) the block holding
	// it, over LatencyTxs transactions.
	LatencyTxs int     `json:"latency_txs"`
	P50ms      float64 `json:"latency_p50_ms"`
	P95ms      float64 `json:"latency_p95_ms"`
	P99ms      float64 `json:"latency_p99_ms"`
	MaxMs      float64 `json:"latency_max_ms"`
	MeanMs     float64 `json:"latency_mean_ms"`
	// LoadAvg is /proc/loadavg's 1-minute figure at the start and end.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
	// RSSPeakMiB is each node's peak resident memory (VmRSS) sampled
	// during the phase, load and drain, by the PIDs in node*.pid.
	RSSPeakMiB map[string]int `json:"rss_peak_mib,omitempty"`
	// Sweep is the steps of an in-flight window sweep, when the phase was
	// measured by one; the phase's figures are those of the chosen step,
	// ChosenWindowTxs its window.
	Sweep           []*sweepStep `json:"sweep,omitempty"`
	ChosenWindowTxs int          `json:"chosen_window_txs,omitempty"`
	// Profile is the file of the node's CPU profile taken while the phase
	// (or, with a sweep, its chosen step) sent; ProfileError why none was.
	Profile      string `json:"profile,omitempty"`
	ProfileError string `json:"profile_error,omitempty"`
	SweepNote    string `json:"sweep_note,omitempty"`
}

// watcher records when the loadgen first sees each block committed on a
// node, from its NewBlockEvents events over the websocket.
type watcher struct {
	mu   sync.Mutex
	seen map[int64]time.Time
	ntx  map[int64]int64
	last int64
}

func startWatcher(ctx context.Context, rpc string) (*watcher, error) {
	c, err := rpchttp.New(rpc)
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("websocket %s: %w", rpc, err)
	}
	ch, err := c.Subscribe(ctx, "loadgen", cmttypes.EventQueryNewBlockEvents.String(), 4096)
	if err != nil {
		return nil, fmt.Errorf("subscribe to NewBlockEvents on %s: %w", rpc, err)
	}
	w := &watcher{seen: map[int64]time.Time{}, ntx: map[int64]int64{}}
	go func() {
		for {
			select {
			case <-ctx.Done():
				_ = c.Stop()
				return
			case ev := <-ch:
				now := time.Now()
				d, ok := ev.Data.(cmttypes.EventDataNewBlockEvents)
				if !ok {
					continue
				}
				w.mu.Lock()
				if _, dup := w.seen[d.Height]; !dup {
					w.seen[d.Height] = now
					w.ntx[d.Height] = d.NumTxs
				}
				w.last = max(w.last, d.Height)
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

// committedSince returns the transactions in the blocks above h seen so
// far, and the last height seen.
func (w *watcher) committedSince(h int64) (int64, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for hh, k := range w.ntx {
		if hh > h {
			n += k
		}
	}
	return n, w.last
}

// seenAt is when block h was seen committed; a block whose event was
// missed takes the time of the first later block seen.
func (w *watcher) seenAt(h int64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.seen[h]; ok {
		return t, true
	}
	var best time.Time
	for hh, t := range w.seen {
		if hh > h && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best, !best.IsZero()
}

var mempoolFull = regexp.MustCompile(`mempool is full`)

// phaseSpec is one phase to run.
type phaseSpec struct {
	name string
	// next returns the i-th transaction, false when there is none.
	next     func(i int) (txItem, bool)
	pool     int // transactions made before the clock (-1: made on the fly)
	poolItem int
	presign  time.Duration
	// windowTxs bounds the transactions accepted and not yet seen
	// committed (0: only the mempool bounds them).
	windowTxs int
	// item counts the committed items of a transaction result and
	// collects what later phases need.
	item func(*abci.ExecTxResult) int
}

// run sends the phase's transactions for g.duration (or until they run
// out, or without a duration all of them) with at most g.inflight
// broadcast_tx_sync calls in flight, waits (at most g.drain) for what was
// accepted to commit, then reads the blocks to count and time it.
func (g *loadgen) run(spec phaseSpec) (*phase, error) {
	budget := g.timeout
	if g.duration > 0 {
		budget = g.duration + g.drain + 3*time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	first := g.rpc[g.lay.Nodes[0].Name]
	st, err := first.Status(ctx)
	if err != nil {
		return nil, err
	}
	h0 := st.SyncInfo.LatestBlockHeight
	p := &phase{Name: spec.name, Pool: spec.pool, PoolItems: spec.poolItem, PresignSeconds: spec.presign.Seconds(),
		TargetSeconds: g.duration.Seconds(), Inflight: g.inflight, WindowTxs: spec.windowTxs, FirstHeight: h0 + 1,
		LoadAvgStart: loadAvg()}
	msg("%s: sending from height %d (inflight %d, window %d txs, %s)...", spec.name, h0, g.inflight, spec.windowTxs, g.durationText())

	s := &sending{g: g, spec: spec, ctx: ctx, h0: h0, sentAt: map[[32]byte]time.Time{}, send: g.broadcastTxSync}
	rssCtx, stopRSS := context.WithCancel(ctx)
	peaks := sampleRSS(rssCtx, g.pidDir, 500*time.Millisecond)
	t0 := time.Now()
	s.stopAt = t0.Add(g.duration)
	prof := g.profile(ctx, fmt.Sprintf("%s-w%d.pprof", spec.name, spec.windowTxs))
	s.load()
	loadEnd := time.Now()
	p.LoadSeconds = loadEnd.Sub(t0).Seconds()
	p.Exhausted = s.exhausted
	s.counts(p)
	if s.sent > 0 {
		p.TxBytes = s.txBytes / s.sent
	}
	if p.Refused > 0 {
		msg("%s: %d refused by CheckTx (first: %s)", spec.name, p.Refused, p.FirstRefusal)
	}
	if p.RPCErrors > 0 {
		msg("%s: %d RPC errors (first: %s)", spec.name, p.RPCErrors, p.FirstRPCError)
	}
	if p.MempoolFullRetries > 0 {
		msg("%s: %d calls found a mempool full and were retried (%d given up at the end)", spec.name, p.MempoolFullRetries, p.MempoolFullAbandoned)
	}
	if p.Exhausted {
		msg("%s: the %d pre-signed transactions ran out after %.1f s of %s; raise --max-rate", spec.name, spec.pool, p.LoadSeconds, g.duration)
	}

	drainBy := loadEnd.Add(g.drain)
	if g.duration == 0 {
		drainBy = loadEnd.Add(budget)
	}
	if prof != nil {
		if r := <-prof; r.err != nil {
			p.ProfileError = r.err.Error()
			msg("%s: no CPU profile: %v", spec.name, r.err)
		} else {
			p.Profile = r.file
		}
	}
	g.awaitCommitted(ctx, p, h0, loadEnd, drainBy)
	_, hEnd := g.watch.committedSince(h0)
	p.LoadAvgEnd = loadAvg()
	stopRSS()
	p.RSSPeakMiB = <-peaks

	// Read the blocks: which transactions are ours, their latency, the
	// items committed, and block times.
	msg("%s: reading blocks %d..%d...", spec.name, h0+1, hEnd)
	blocks, err := fetchBlocks(ctx, first, h0, hEnd)
	if err != nil {
		return nil, err
	}
	lat := s.tally(p, blocks)
	p.setLatency(lat)
	msg("%s: %d txs, %d items in blocks %d..%d over %.1f s: %.1f items/s, %.1f tx/s, p50 %.0f ms, p95 %.0f ms",
		spec.name, p.CommittedTx, p.Items, h0+1, p.LastHeight, p.Seconds, p.ItemsPerS, p.TxPerS, p.P50ms, p.P95ms)
	return p, nil
}

// sending is a phase's load while it is sent: what was sent, accepted and
// refused, and when each accepted transaction's call started.
type sending struct {
	g      *loadgen
	spec   phaseSpec
	ctx    context.Context
	h0     int64     // the height before the phase
	stopAt time.Time // with g.duration: when sending stops

	// send makes one broadcast_tx_sync call (a fake in tests).
	send func(ctx context.Context, node string, tx []byte) (*ctypes.ResultBroadcastTx, error)
	// retryPause is the pause before sending again to a full mempool
	// (0: 20 ms).
	retryPause time.Duration

	accepted, refused, rpcErrors, inflight atomic.Int64
	fullRetries, fullAbandoned             atomic.Int64
	firstRefusal, firstRPCError            atomic.Value // strings
	mu                                     sync.Mutex
	sentAt                                 map[[32]byte]time.Time // first send, by transaction hash, under mu

	// Kept by load alone.
	sent, txBytes int
	exhausted     bool // the transactions ran out before g.duration
}

// over says that the phase's duration is up.
func (s *sending) over() bool { return s.g.duration > 0 && !time.Now().Before(s.stopAt) }

// outstanding is the transactions accepted or in flight and not yet seen
// committed.
func (s *sending) outstanding() int64 {
	c, _ := s.g.watch.committedSince(s.h0)
	return s.accepted.Load() + s.inflight.Load() - c
}

// load sends the phase's transactions, at most g.inflight calls at once
// and within the window, until they run out, the duration is up or the
// context ends; it returns when every call has returned.
func (s *sending) load() {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, s.g.inflight)
	for i := 0; !s.over() && s.ctx.Err() == nil; i++ {
		it, ok := s.spec.next(i)
		if !ok {
			s.exhausted = s.g.duration > 0
			return
		}
		if !s.awaitWindow() {
			return
		}
		sem <- struct{}{}
		if s.over() {
			<-sem
			return
		}
		s.inflight.Add(1)
		s.sent++
		s.txBytes += len(it.tx)
		wg.Go(func() {
			defer func() { s.inflight.Add(-1); <-sem }()
			s.broadcast(it)
		})
	}
}

// awaitWindow waits while the window is full; false if the phase ended
// meanwhile.
func (s *sending) awaitWindow() bool {
	for s.spec.windowTxs > 0 && s.outstanding() >= int64(s.spec.windowTxs) {
		if s.over() || s.ctx.Err() != nil {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// sendOutcome is how one broadcast_tx_sync call ended.
type sendOutcome int

const (
	sendAccepted    sendOutcome = iota // CheckTx accepted it
	sendMempoolFull                    // a mempool was full: send it again
	sendRefused                        // CheckTx refused it (a non-zero code)
	sendRPCError                       // the call itself failed
)

// classify says how a broadcast_tx_sync call ended, and why when it did
// not end in acceptance.
func classify(res *ctypes.ResultBroadcastTx, err error) (sendOutcome, string) {
	switch {
	case err != nil && mempoolFull.MatchString(err.Error()):
		return sendMempoolFull, err.Error()
	case err != nil:
		return sendRPCError, err.Error()
	case res == nil:
		return sendRPCError, "no result"
	case res.Code == 0:
		return sendAccepted, ""
	case mempoolFull.MatchString(res.Log):
		return sendMempoolFull, res.Log
	default:
		return sendRefused, fmt.Sprintf("code %d: %s", res.Code, res.Log)
	}
}

func (g *loadgen) broadcastTxSync(ctx context.Context, node string, tx []byte) (*ctypes.ResultBroadcastTx, error) {
	return g.rpc[node].BroadcastTxSync(ctx, tx)
}

// broadcast sends one transaction, again while the mempool is full (until
// the phase is over), and records how it ended. An accepted transaction's
// latency runs from its first call, not from the retry that got in.
func (s *sending) broadcast(it txItem) {
	h := sha256.Sum256(it.tx)
	first := time.Now()
	pause := s.retryPause
	if pause == 0 {
		pause = 20 * time.Millisecond
	}
	for s.ctx.Err() == nil {
		out, why := classify(s.send(s.ctx, it.node, it.tx))
		switch out {
		case sendMempoolFull:
			s.fullRetries.Add(1)
			if s.over() {
				s.fullAbandoned.Add(1)
				return
			}
			time.Sleep(pause)
			continue
		case sendAccepted:
			s.mu.Lock()
			s.sentAt[h] = first
			s.mu.Unlock()
			s.accepted.Add(1)
		case sendRefused:
			s.refused.Add(1)
			s.firstRefusal.CompareAndSwap(nil, why)
		case sendRPCError:
			s.rpcErrors.Add(1)
			s.firstRPCError.CompareAndSwap(nil, why)
		}
		return
	}
}

// counts copies the sending's counts into p.
func (s *sending) counts(p *phase) {
	p.Sent, p.Accepted, p.Refused, p.RPCErrors = s.sent, int(s.accepted.Load()), int(s.refused.Load()), int(s.rpcErrors.Load())
	p.MempoolFullRetries, p.MempoolFullAbandoned = int(s.fullRetries.Load()), int(s.fullAbandoned.Load())
	if e, ok := s.firstRefusal.Load().(string); ok {
		p.FirstRefusal = e
	}
	if e, ok := s.firstRPCError.Load().(string); ok {
		p.FirstRPCError = e
	}
}

// awaitCommitted waits, until by, for every transaction p accepted to be
// seen committed above h0 (p.Drained if they were).
func (g *loadgen) awaitCommitted(ctx context.Context, p *phase, h0 int64, loadEnd, by time.Time) {
	for {
		c, _ := g.watch.committedSince(h0)
		if c >= int64(p.Accepted) {
			p.Drained = true
			break
		}
		if time.Now().After(by) || ctx.Err() != nil {
			msg("%s: %d of %d accepted transactions seen committed after a drain of %s", p.Name, c, p.Accepted, time.Since(loadEnd).Round(time.Millisecond))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.DrainSeconds = time.Since(loadEnd).Seconds()
}

// tally counts the phase's transactions in blocks (blocks[0] is the block
// before the phase, read for its time) into p: committed transactions and
// items, the heights and sizes of the blocks holding them, and the rates
// over their block time. It returns the latencies of the transactions
// whose block was seen committed.
func (s *sending) tally(p *phase, blocks []block) []time.Duration {
	var lat []time.Duration
	lastTime := blocks[0].time
	for _, b := range blocks[1:] {
		ours := 0
		seen, seenOK := s.g.watch.seenAt(b.height)
		for i, tx := range b.txs {
			h := sha256.Sum256(tx)
			s.mu.Lock()
			at, ok := s.sentAt[h]
			s.mu.Unlock()
			if !ok {
				continue
			}
			ours++
			if seenOK {
				lat = append(lat, seen.Sub(at))
			}
			r := b.results[i]
			if r.Code == 0 {
				p.CommittedOK++
			}
			p.Items += s.spec.item(r)
		}
		if ours == 0 {
			continue
		}
		p.CommittedTx += ours
		p.LastHeight = b.height
		p.Blocks = b.height - s.h0
		lastTime = b.time
		p.MaxBlockTxs = max(p.MaxBlockTxs, len(b.txs))
		p.MaxBlockMiB = max(p.MaxBlockMiB, float64(b.bytes)/(1<<20))
	}
	p.Seconds = lastTime.Sub(blocks[0].time).Seconds()
	if p.Seconds > 0 {
		p.BlocksPerS = float64(p.Blocks) / p.Seconds
		p.TxPerS = float64(p.CommittedTx) / p.Seconds
		p.ItemsPerS = float64(p.Items) / p.Seconds
	}
	if p.CommittedTx > 0 {
		p.ItemsPerTx = float64(p.Items) / float64(p.CommittedTx)
	}
	return lat
}

// setLatency sets the latency percentiles of p from lat.
func (p *phase) setLatency(lat []time.Duration) {
	p.LatencyTxs = len(lat)
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) float64 { return ms(lat[min(len(lat)-1, int(q*float64(len(lat))))]) }
	p.P50ms, p.P95ms, p.P99ms, p.MaxMs = pct(0.50), pct(0.95), pct(0.99), ms(lat[len(lat)-1])
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	p.MeanMs = ms(sum / time.Duration(len(lat)))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// block is what run reads of a block.
type block struct {
	height  int64
	time    time.Time
	txs     cmttypes.Txs
	bytes   int
	results []*abci.ExecTxResult
}

// fetchBlocks reads blocks from..to (from only for its time) from c, a
// few at a time.
func fetchBlocks(ctx context.Context, c *rpchttp.HTTP, from, to int64) ([]block, error) {
	out := make([]block, to-from+1)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next.Store(from)
	for range 4 {
		wg.Go(func() {
			for {
				h := next.Add(1) - 1
				if h > to {
					return
				}
				b, err := fetchBlock(ctx, c, h, h > from)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				out[h-from] = b
			}
		})
	}
	wg.Wait()
	return out, firstErr
}

func fetchBlock(ctx context.Context, c *rpchttp.HTTP, h int64, results bool) (block, error) {
	var (
		blk *ctypes.ResultBlock
		res *ctypes.ResultBlockResults
		err error
	)
	for try := 0; ; try++ {
		if blk, err = c.Block(ctx, &h); err == nil && results {
			res, err = c.BlockResults(ctx, &h)
		}
		if err == nil {
			break
		}
		if try == 20 || ctx.Err() != nil {
			return block{}, fmt.Errorf("block %d: %w", h, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b := block{height: h, time: blk.Block.Time, txs: blk.Block.Txs}
	for _, tx := range b.txs {
		b.bytes += len(tx)
	}
	if results {
		b.results = res.TxResults
		if len(b.results) != len(b.txs) {
			return block{}, fmt.Errorf("block %d: %d transactions, %d results", h, len(b.txs), len(b.results))
		}
	}
	return b, nil
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	bz, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(bz))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
