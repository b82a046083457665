// Command loadgen puts a bounded load on a running test network (written
// by `mykeyd testnet`, e.g. scripts/localnet.sh's or scripts/bench-net.sh's)
// and reports what the network committed.
//
//	go run ./scripts/loadgen --network localnet/net --links 2000 --grants 4000
//	go run ./scripts/loadgen --network localnet/net --duration 60s --charges 100 --json
//	go run ./scripts/loadgen --network kvnet --kvstore --duration 60s   # nodes run `mykeyd start --abci kvstore`
//
// Phases (--phases, in this order): links, one citizen-signed link per
// transaction sent to the provider's node; links-batched, provider-signed
// link batches of --link-batch links; grants, provider grants of
// --charges charges each, charging the people linked before. Links come
// from new test cards issued from the network's test CA (card keys from a
// pool of 64 RSA keys, as in the tests).
//
// Everything is signed before the clock starts. Without --duration a link
// phase sends --links links and the grants phase --grants charges, and each
// waits until all is committed. With --duration D each phase keeps the
// network loaded for D, then stops sending and waits at most --drain for
// what was accepted to commit; its pool is --max-rate links/s (or
// --max-charge-rate charges/s) × D, signed beforehand (the links-batched
// phase first uses the links the links phase did not send). A phase whose
// pool runs out before D says so (exhausted) and stops early: raise the
// rate ceiling.
//
// Sending is a closed loop: at most --inflight broadcast_tx_sync calls in
// flight, backing off while a mempool is full, and with --window N at
// most N items (links, charges, kvstore transactions) accepted and not yet
// seen committed (--charge-window N: N charges).
//
// Rates are measured over the blocks of the phase, by block time: txs (and
// items accepted by the ledger) in those blocks / (time of the last block
// holding one - time of the block before the first). Latency is per
// transaction, from the start of its accepted broadcast_tx_sync call to
// the moment the loadgen saw the block holding it committed on node 0
// (NewBlockEvents over the websocket); p50/p95/p99 per phase.
//
// --kvstore runs one phase, kvstore, against a network whose nodes run
// CometBFT's kvstore example app (`mykeyd start --abci kvstore`): key=value
// transactions of the size of a link transaction (--tx-size), sent to the
// same nodes with the same inflight, window and duration.
//
// With --json the results are one JSON object on stdout; --report FILE
// [--baseline FILE] prints the table of saved results. The RSS of the
// nodes is read from /proc for the PIDs in node*.pid beside the network
// directory, when scripts/localnet.sh or scripts/bench-net.sh started them:
// sampled every 0.5 s during each phase (its peak per node) and at the end.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
)

type options struct {
	profileURL    string
	profileDir    string
	dir           string
	phases        string
	links         int
	grants        int
	charges       int
	linkBatch     int
	duration      time.Duration
	drain         time.Duration
	maxRate       float64
	maxChargeRate float64
	inflight      int
	window        int
	chargeWindow  int
	timeout       time.Duration
	kvstore       bool
	txSize        int
	asJSON        bool
	report        string
	baseline      string
	sweep         string
	batchSweep    string
	sweepP95      time.Duration
	sweepBudget   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dir, "network", "localnet/net", "test network directory (holds network.json)")
	flag.StringVar(&o.phases, "phases", "links,links-batched,grants", "phases to run: links, links-batched, grants")
	flag.IntVar(&o.links, "links", 2000, "without --duration: links to send in each link phase")
	flag.IntVar(&o.grants, "grants", 4000, "without --duration: charges to send")
	flag.IntVar(&o.charges, "charges", 1, "charges per grant transaction")
	flag.IntVar(&o.linkBatch, "link-batch", 100, "links per link-batch transaction (links-batched)")
	flag.DurationVar(&o.duration, "duration", 0, "keep each phase loaded this long (0: send the counts)")
	flag.DurationVar(&o.drain, "drain", 30*time.Second, "with --duration: wait at most this long after a phase for what was accepted to commit")
	flag.Float64Var(&o.maxRate, "max-rate", 1000, "with --duration: links/s ceiling a link phase's pre-signed pool is sized for (kvstore: not needed)")
	flag.Float64Var(&o.maxChargeRate, "max-charge-rate", 20000, "with --duration: charges/s ceiling the grants phase's pool is sized for")
	flag.IntVar(&o.inflight, "inflight", 32, "most broadcast_tx_sync calls in flight")
	flag.IntVar(&o.window, "window", 0, "most links (kvstore: transactions) accepted and not yet committed (0: only the mempool bounds them)")
	flag.IntVar(&o.chargeWindow, "charge-window", 0, "most charges accepted and not yet committed (0: only the mempool bounds them)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "without --duration: give up a phase after this long")
	flag.BoolVar(&o.kvstore, "kvstore", false, "the network runs CometBFT's kvstore app: send key=value transactions")
	flag.IntVar(&o.txSize, "tx-size", 0, "with --kvstore: transaction size in bytes (0: a link transaction's)")
	flag.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	flag.StringVar(&o.report, "report", "", "print the table of results saved with --json in this file (no load)")
	flag.StringVar(&o.baseline, "baseline", "", "with --report: the kvstore results to compare with")
	flag.StringVar(&o.sweep, "sweep", "", "with --duration: sweep the window over these transaction counts (e.g. 16,32,64,128,256) in the links and kvstore phases")
	flag.StringVar(&o.batchSweep, "batch-sweep", "", "with --duration: sweep the window over these transaction counts in the links-batched and grants phases")
	flag.DurationVar(&o.sweepP95, "sweep-p95", 3*time.Second, "a sweep stops after a step whose p95 latency exceeds this, and chooses among the steps within it")
	flag.DurationVar(&o.sweepBudget, "sweep-budget", 0, "a phase's sweep starts no step after it has run this long (0: no bound)")
	flag.StringVar(&o.profileURL, "profile-url", "", "with --duration: a node's CPU profile endpoint (CometBFT's pprof_laddr + /debug/pprof/profile) to profile while each phase or sweep step sends")
	flag.StringVar(&o.profileDir, "profile-dir", ".", "with --profile-url: where the profiles go, as <phase>-w<window>.pprof")
	flag.Parse()
	var err error
	if o.report != "" {
		err = report(o.report, o.baseline)
	} else {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// result is the --json output.
type result struct {
	App             string   `json:"app"` // "mykey" or "kvstore"
	ChainID         string   `json:"chain_id"`
	Nodes           int      `json:"nodes"`
	DurationSeconds float64  `json:"duration_seconds,omitempty"`
	Inflight        int      `json:"inflight"`
	Window          int      `json:"window_items,omitempty"`
	ChargeWindow    int      `json:"charge_window,omitempty"`
	LinkBatch       int      `json:"link_batch,omitempty"`
	ChargesPerTx    int      `json:"charges_per_tx,omitempty"`
	ChargeYen       int64    `json:"charge_yen,omitempty"`
	MaxRate         float64  `json:"max_rate,omitempty"`
	MaxChargeRate   float64  `json:"max_charge_rate,omitempty"`
	Phases          []*phase `json:"phases"`
	// RSSMiB is each node's resident memory at the end, RSSPeakMiB its
	// peak over every phase (sampled every 0.5 s).
	RSSMiB     map[string]int `json:"rss_mib,omitempty"`
	RSSPeakMiB map[string]int `json:"rss_peak_mib,omitempty"`
}

type loadgen struct {
	lay      *netlayout.Layout
	rpc      map[string]*rpchttp.HTTP // by node name
	watch    *watcher
	provider []string // provider IDs
	keys     map[string]*keyfile.Key
	pidDir   string // holds node*.pid, the nodes' PIDs
	inflight int
	duration time.Duration
	drain    time.Duration
	timeout  time.Duration
	// profileURL, when set, is profiled while each phase sends; the
	// profiles go to profileDir.
	profileURL, profileDir string
}

func (g *loadgen) durationText() string {
	if g.duration == 0 {
		return "until all is sent"
	}
	return "for " + g.duration.String()
}

type linkedPerson struct{ provider, mykey string }

func run(o options) error {
	phases, err := o.phaseList()
	if err != nil {
		return err
	}
	g, err := newLoadgen(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if g.watch, err = startWatcher(ctx, g.lay.Nodes[0].RPC); err != nil {
		return err
	}
	ca, err := testca.Load(g.lay.TestCA)
	if err != nil {
		return err
	}
	program := g.lay.Programs[0]
	signer, err := newLinkSigner(ca, g.lay.ChainID, program)
	if err != nil {
		return err
	}
	out := &result{App: "mykey", ChainID: g.lay.ChainID, Nodes: len(g.lay.Nodes), DurationSeconds: o.duration.Seconds(),
		Inflight: o.inflight, Window: o.window, ChargeWindow: o.chargeWindow}
	if o.duration > 0 {
		out.MaxRate = o.maxRate
	}
	if o.kvstore {
		out.App = "kvstore"
		p, err := g.kvstorePhase(o, signer)
		if err != nil {
			return err
		}
		out.Phases = append(out.Phases, p)
		return g.print(out, o)
	}
	m := &mykeyPhases{loadgen: g, o: o, signer: signer, program: program, out: out}
	for _, ph := range phases {
		switch ph {
		case "links", "links-batched":
			err = m.links(ph)
		case "grants":
			err = m.grants()
		}
		if err != nil {
			return err
		}
	}
	return g.print(out, o)
}

// phaseList checks the options and returns the phases to run.
func (o *options) phaseList() ([]string, error) {
	if o.inflight < 1 || o.charges < 1 || o.linkBatch < 1 || o.maxRate <= 0 || o.maxChargeRate <= 0 {
		return nil, errors.New("--inflight, --charges, --link-batch and the rates must be positive")
	}
	if o.sweep != "" || o.batchSweep != "" {
		if o.duration <= 0 {
			return nil, errors.New("--sweep and --batch-sweep need --duration")
		}
		if _, err := parseWindows(o.sweep); err != nil {
			return nil, fmt.Errorf("--sweep: %w", err)
		}
		if _, err := parseWindows(o.batchSweep); err != nil {
			return nil, fmt.Errorf("--batch-sweep: %w", err)
		}
	}
	phases := strings.Split(o.phases, ",")
	for _, ph := range phases {
		if !slices.Contains([]string{"links", "links-batched", "grants"}, ph) {
			return nil, fmt.Errorf("unknown phase %q (links, links-batched, grants)", ph)
		}
	}
	return phases, nil
}

// sweepSpec is the sweep of a phase carrying one item a transaction
// (links, kvstore) or many (links-batched, grants).
func (o *options) sweepSpec(batched bool) sweepSpec {
	list := o.sweep
	if batched {
		list = o.batchSweep
	}
	w, _ := parseWindows(list) // checked by phaseList
	return sweepSpec{windows: w, p95: o.sweepP95, budget: o.sweepBudget}
}

// newLoadgen reads the network's layout and opens a client to each node
// and the providers' grant keys.
func newLoadgen(o options) (*loadgen, error) {
	lay, err := netlayout.Load(o.dir)
	if err != nil {
		return nil, err
	}
	g := &loadgen{lay: lay, rpc: map[string]*rpchttp.HTTP{}, keys: map[string]*keyfile.Key{}, pidDir: filepath.Dir(o.dir),
		inflight: o.inflight, duration: o.duration, drain: o.drain, timeout: o.timeout,
		profileURL: o.profileURL, profileDir: o.profileDir}
	for _, n := range lay.Nodes {
		c, err := rpchttp.NewWithTimeout(n.RPC, 30)
		if err != nil {
			return nil, err
		}
		g.rpc[n.Name] = c
		if n.Role == "provider" {
			g.provider = append(g.provider, n.ProviderID)
			if g.keys[n.ProviderID], err = keyfile.Load(lay.ProviderKeys[n.ProviderID]); err != nil {
				return nil, err
			}
		}
	}
	if len(g.provider) == 0 {
		return nil, errors.New("the network has no provider node")
	}
	return g, nil
}

// mykeyPhases runs the phases of the MyKey app; they share the people
// linked so far, whom the grants phase charges, and the signed links a
// link phase did not send.
type mykeyPhases struct {
	*loadgen
	o       options
	signer  *linkSigner
	program string
	out     *result

	linkedMu sync.Mutex
	linked   []linkedPerson
	leftover []link
	charged  int // charges signed so far, for the linked people
}

// item counts a committed transaction's accepted items and remembers the
// people its links linked.
func (m *mykeyPhases) item(r *abci.ExecTxResult) int {
	n, people := acceptedItems(r)
	if len(people) > 0 {
		m.linkedMu.Lock()
		m.linked = append(m.linked, people...)
		m.linkedMu.Unlock()
	}
	return n
}

// linkPool returns the links for a phase: leftovers first, then new ones;
// and how long signing took.
func (m *mykeyPhases) linkPool() ([]link, time.Duration, error) {
	want := m.o.links
	if m.o.duration > 0 {
		want = int(m.o.maxRate * m.o.duration.Seconds())
	}
	start := time.Now()
	pool := m.leftover
	m.leftover = nil
	if len(pool) > want {
		pool, m.leftover = pool[:want], pool[want:]
	}
	if n := want - len(pool); n > 0 {
		msg("issuing %d test cards and signing their links (%d left from before)...", n, len(pool))
		more, err := m.signer.signLinks(n, m.provider)
		if err != nil {
			return nil, 0, err
		}
		pool = append(pool, more...)
	}
	return pool, time.Since(start), nil
}

// links runs a link phase: "links" (one citizen-signed link per
// transaction) or "links-batched" (provider-signed batches), at one window
// or by a sweep.
func (m *mykeyPhases) links(name string) error {
	per := 1
	if name == "links-batched" {
		per = m.o.linkBatch
	}
	p, err := sweep(name, m.o.sweepSpec(per > 1), windowTxs(m.o.window, per), func(w int) (*phase, error) {
		return m.linkStep(name, w)
	})
	if err != nil {
		return err
	}
	m.out.Phases = append(m.out.Phases, p)
	return nil
}

// linkStep runs a link phase once with a window of w transactions.
func (m *mykeyPhases) linkStep(name string, w int) (*phase, error) {
	pool, took, err := m.linkPool()
	if err != nil {
		return nil, err
	}
	var txs []txItem
	per := 1
	if name == "links" {
		txs, err = singleLinkTxs(pool)
	} else {
		per = m.o.linkBatch
		txs, err = batchLinkTxs(pool, per, m.lay.ChainID, m.keys)
		m.out.LinkBatch = m.o.linkBatch
	}
	if err != nil {
		return nil, err
	}
	var sentUpTo int
	p, err := m.run(phaseSpec{name: name, next: fromPool(txs, &sentUpTo), pool: len(txs), poolItem: len(pool),
		presign: took, windowTxs: w, item: m.item})
	if err != nil {
		return nil, err
	}
	if name == "links" && sentUpTo < len(pool) {
		m.leftover = append(m.leftover, pool[sentUpTo:]...)
	}
	return p, nil
}

// grants runs the grants phase, linking a few people first (unmeasured)
// if no phase before did, at one window or by a sweep.
func (m *mykeyPhases) grants() error {
	if len(m.linked) == 0 {
		if err := m.setupLinks(); err != nil {
			return err
		}
	}
	p, err := sweep("grants", m.o.sweepSpec(true), windowTxs(m.o.chargeWindow, m.o.charges), m.grantStep)
	if err != nil {
		return err
	}
	m.out.Phases = append(m.out.Phases, p)
	return nil
}

// grantStep runs the grants phase once with a window of w transactions.
func (m *mykeyPhases) grantStep(w int) (*phase, error) {
	n := m.o.grants
	if m.o.duration > 0 {
		n = int(m.o.maxChargeRate * m.o.duration.Seconds())
		m.out.MaxChargeRate = m.o.maxChargeRate
	}
	msg("signing %d charges in grants of %d for %d linked people...", n, m.o.charges, len(m.linked))
	start := time.Now()
	txs, yen, err := grantTxs(m.linked, m.charged, n, m.o.charges, m.lay.ChainID, m.program, m.keys)
	if err != nil {
		return nil, err
	}
	m.charged += n
	m.out.ChargesPerTx, m.out.ChargeYen = m.o.charges, yen
	var sentUpTo int
	return m.run(phaseSpec{name: "grants", next: fromPool(txs, &sentUpTo), pool: len(txs), poolItem: n,
		presign: time.Since(start), windowTxs: w, item: m.item})
}

// setupLinks links up to 2000 people in batches, sending them all
// whatever --duration says: the people the grants phase charges.
func (m *mykeyPhases) setupLinks() error {
	pool, took, err := m.linkPool()
	if err != nil {
		return err
	}
	pool = pool[:min(len(pool), 2000)]
	txs, err := batchLinkTxs(pool, m.o.linkBatch, m.lay.ChainID, m.keys)
	if err != nil {
		return err
	}
	saved := m.duration
	m.duration = 0
	var n int
	p, err := m.run(phaseSpec{name: "setup-links", next: fromPool(txs, &n), pool: len(txs), poolItem: len(pool), presign: took, item: m.item})
	m.duration = saved
	if err != nil {
		return err
	}
	m.out.Phases = append(m.out.Phases, p)
	return nil
}

// windowTxs is the transactions a window of items allows (0: no window).
func windowTxs(window, itemsPerTx int) int {
	if window <= 0 {
		return 0
	}
	return max(1, (window+itemsPerTx-1)/itemsPerTx)
}

// fromPool sends txs in order; *sentUpTo is how many were taken.
func fromPool(txs []txItem, sentUpTo *int) func(int) (txItem, bool) {
	return func(i int) (txItem, bool) {
		if i >= len(txs) {
			return txItem{}, false
		}
		*sentUpTo = i + 1
		return txs[i], true
	}
}

// kvstorePhase sends key=value transactions of a link transaction's size.
func (g *loadgen) kvstorePhase(o options, signer *linkSigner) (*phase, error) {
	size := o.txSize
	if size == 0 {
		sample, err := signer.signLinks(1, g.provider)
		if err != nil {
			return nil, err
		}
		txs, err := singleLinkTxs(sample)
		if err != nil {
			return nil, err
		}
		size = len(txs[0].tx)
		msg("kvstore: transactions of %d bytes, a link transaction's size", size)
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	count := o.links
	if o.duration > 0 {
		count = 1 << 40
	}
	next := func(i int) (txItem, bool) {
		if i >= count {
			return txItem{}, false
		}
		// key=value, unique key; the value padded to the size. No ':'
		// and one '=', as kvstore's CheckTx wants.
		kv := make([]byte, 0, size)
		kv = append(kv, "lg"+stamp+"-"+strconv.Itoa(i)+"="...)
		for len(kv) < size {
			kv = append(kv, 'v')
		}
		return txItem{node: g.provider[i%len(g.provider)], tx: kv, items: 1}, true
	}
	okItem := func(r *abci.ExecTxResult) int {
		if r.Code == 0 {
			return 1
		}
		return 0
	}
	pool := -1
	if o.duration == 0 {
		pool = count
	}
	return sweep("kvstore", o.sweepSpec(false), max(o.window, 0), func(w int) (*phase, error) {
		stamp = strconv.FormatInt(time.Now().UnixNano(), 36) // keys unique across a sweep's steps
		return g.run(phaseSpec{name: "kvstore", next: next, pool: pool, poolItem: pool, windowTxs: w, item: okItem})
	})
}

func (g *loadgen) print(out *result, o options) error {
	out.RSSMiB = rss(nodePIDs(g.pidDir))
	for _, p := range out.Phases {
		if p.RSSPeakMiB != nil {
			if out.RSSPeakMiB == nil {
				out.RSSPeakMiB = map[string]int{}
			}
			addPeaks(out.RSSPeakMiB, p.RSSPeakMiB)
		}
	}
	if o.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printTable(os.Stdout, out, nil)
	return nil
}

func msg(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// acceptedItems counts the items of a transaction's result that the
// ledger accepted — links made, charges granted — and returns the people
// the accepted links linked. A rejected item (a rejected charge is
// recorded on the ledger too, with nothing granted) is not counted,
// whatever the transaction's code.
func acceptedItems(r *abci.ExecTxResult) (int, []linkedPerson) {
	n := 0
	var people []linkedPerson
	for _, ev := range r.Events {
		if ev.Type != types.EventLink && ev.Type != types.EventGrant {
			continue
		}
		a := map[string]string{}
		for _, kv := range ev.Attributes {
			a[kv.Key] = kv.Value
		}
		if a[types.AttrOutcome] != types.OutcomeAccepted {
			continue
		}
		n++
		if ev.Type == types.EventLink {
			people = append(people, linkedPerson{a[types.AttrProvider], a[types.AttrMyKeyID]})
		}
	}
	return n, people
}
