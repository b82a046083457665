// Command loadgen puts a bounded load on a running test network (written
// by `mykeyd testnet`, e.g. scripts/localnet.sh's) and reports what the
// network committed: blocks per second and committed transactions per
// second, first of citizen links, then of provider grants.
//
//	go run ./scripts/loadgen --network localnet/net --links 2000 --grants 4000
//
// Everything is signed before the clock starts: --links test cards are
// issued from the network's test CA (card keys come from a pool of 64
// RSA keys, as in the tests) and each signs one link for a provider
// (round-robin), which is sent to that provider's node. Then --grants
// one-charge grants (--charges charges per grant transaction) are signed
// by the providers for the people linked to them. Each phase sends with at
// most --inflight broadcast_tx_sync calls in flight (backing off while a
// mempool is full) and waits until every accepted transaction is in a
// block. Rates are measured over the blocks of the phase, by block time:
// txs in those blocks / (time of the last block - time of the block
// before the first).
//
// With --json the results are one JSON object on stdout. The RSS of the
// nodes is read from /proc for the PIDs in node*.pid beside the network
// directory, when scripts/localnet.sh started them.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/app/jpki/jpkitest"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/keyfile"
	"github.com/mykeyledger/mykey/node"
)

func main() {
	var (
		dir      = flag.String("network", "localnet/net", "test network directory (holds network.json)")
		links    = flag.Int("links", 2000, "links to send (one per new test card)")
		grants   = flag.Int("grants", 4000, "charges to send")
		charges  = flag.Int("charges", 1, "charges per grant transaction")
		inflight = flag.Int("inflight", 32, "most broadcast_tx_sync calls in flight")
		timeout  = flag.Duration("timeout", 5*time.Minute, "give up a phase after this long")
		asJSON   = flag.Bool("json", false, "print the results as JSON")
	)
	flag.Parse()
	if err := run(*dir, *links, *grants, *charges, *inflight, *timeout, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// phase is what one phase of load committed.
type phase struct {
	Name        string  `json:"name"`
	Sent        int     `json:"sent"`
	Accepted    int     `json:"accepted_by_checktx"`
	CommittedOK int     `json:"committed_ok"`
	Blocks      int64   `json:"blocks"`
	Seconds     float64 `json:"seconds"`
	BlocksPerS  float64 `json:"blocks_per_s"`
	TxPerS      float64 `json:"committed_tx_per_s"`
	ItemsPerS   float64 `json:"committed_items_per_s"`
	MaxBlockTxs int     `json:"max_block_txs"`
}

type loadgen struct {
	lay      *node.Layout
	rpc      map[string]*rpchttp.HTTP // by node name
	provider []string                 // provider IDs
	keys     map[string]*keyfile.Key
	inflight int
	timeout  time.Duration
}

func run(dir string, nLinks, nGrants, perGrant, inflight int, timeout time.Duration, asJSON bool) error {
	lay, err := node.LoadLayout(dir)
	if err != nil {
		return err
	}
	g := &loadgen{lay: lay, rpc: map[string]*rpchttp.HTTP{}, keys: map[string]*keyfile.Key{}, inflight: inflight, timeout: timeout}
	for _, n := range lay.Nodes {
		c, err := rpchttp.NewWithTimeout(n.RPC, 30)
		if err != nil {
			return err
		}
		g.rpc[n.Name] = c
		if n.Role == "provider" {
			g.provider = append(g.provider, n.ProviderID)
			if g.keys[n.ProviderID], err = keyfile.Load(lay.ProviderKeys[n.ProviderID]); err != nil {
				return err
			}
		}
	}
	if len(g.provider) == 0 {
		return errors.New("the network has no provider node")
	}
	ca, err := node.LoadTestCA(lay.TestCA)
	if err != nil {
		return err
	}
	program := lay.Programs[0]

	// Links: sign everything first.
	msg("issuing %d test cards and signing their links...", nLinks)
	jpkitest.Prefetch(min(nLinks, jpkitest.PoolSize))
	stamp := time.Now().UnixNano()
	serialBase := time.Now().Unix() * 1_000_000
	linkTxs := make([]sendable, nLinks)
	var signErr error
	var mu sync.Mutex
	parallel(nLinks, func(k int) {
		// Serial numbers unique across runs against the same CA (a
		// certificate is a person: the same serial would be linked).
		card, err := ca.Issue(jpkitest.CardOptions{Serial: serialBase + int64(k)})
		if err == nil {
			prov := g.provider[k%len(g.provider)]
			tok := sha256.Sum256([]byte(fmt.Sprintf("loadgen-%d-%d", stamp, k)))
			req := &types.LinkRequest{ChainId: lay.ChainID, ProgramId: program, ProviderId: prov,
				AccountCommitment: tok[:], ExpiresAt: time.Now().Add(24 * time.Hour).Unix(), Certificate: card.CertDER}
			var sig, bz []byte
			if sig, err = card.Sign(req.SignBytes()); err == nil {
				bz, err = types.EncodeTx(types.WrapLink(&types.SignedLink{Request: req, Signature: sig}))
				linkTxs[k] = sendable{node: prov, tx: bz, items: 1}
			}
		}
		if err != nil {
			mu.Lock()
			signErr = err
			mu.Unlock()
		}
	})
	if signErr != nil {
		return signErr
	}
	linkPhase, linked, err := g.phase("links", linkTxs)
	if err != nil {
		return err
	}

	// Grants: one charge of ¥1,000 (¥250 granted) per charge, spread over
	// the people linked above, grouped perGrant to a transaction.
	if len(linked) == 0 && nGrants > 0 {
		return errors.New("no link was committed: no one to grant to")
	}
	msg("signing %d charges in grants of %d...", nGrants, perGrant)
	var grantTxs []sendable
	now := time.Now().Unix()
	byProvider := map[string][]string{}
	for _, l := range linked {
		byProvider[l.provider] = append(byProvider[l.provider], l.mykey)
	}
	provs := make([]string, 0, len(byProvider))
	for p := range byProvider {
		provs = append(provs, p)
	}
	sort.Strings(provs)
	for k := 0; k < nGrants; {
		prov := provs[(k/perGrant)%len(provs)]
		people := byProvider[prov]
		gr := &types.Grant{ChainId: lay.ChainID, ProviderId: prov}
		for j := 0; j < perGrant && k < nGrants; j, k = j+1, k+1 {
			gr.Charges = append(gr.Charges, &types.Charge{ProgramId: program, MykeyId: people[k%len(people)],
				ChargeRef: fmt.Sprintf("loadgen-%d-%d", stamp, k), AmountYen: 1000, ChargedAt: now - 60})
		}
		bz, err := types.EncodeTx(types.WrapGrant(&types.SignedGrant{Grant: gr, Signature: g.keys[prov].Sign(gr.SignBytes())}))
		if err != nil {
			return err
		}
		grantTxs = append(grantTxs, sendable{node: prov, tx: bz, items: len(gr.Charges)})
	}
	grantPhase, _, err := g.phase("grants", grantTxs)
	if err != nil {
		return err
	}

	out := struct {
		ChainID string         `json:"chain_id"`
		Nodes   int            `json:"nodes"`
		Phases  []*phase       `json:"phases"`
		RSSMiB  map[string]int `json:"rss_mib,omitempty"`
	}{lay.ChainID, len(lay.Nodes), []*phase{linkPhase, grantPhase}, rss(filepath.Dir(dir))}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Printf("%-7s %6s %8s %9s %7s %8s %9s %10s %12s %9s\n", "phase", "sent", "accepted", "committed", "blocks", "seconds", "blocks/s", "tx/s", "items/s", "max txs/blk")
	for _, p := range out.Phases {
		fmt.Printf("%-7s %6d %8d %9d %7d %8.1f %9.2f %10.1f %12.1f %9d\n", p.Name, p.Sent, p.Accepted, p.CommittedOK, p.Blocks, p.Seconds, p.BlocksPerS, p.TxPerS, p.ItemsPerS, p.MaxBlockTxs)
	}
	names := make([]string, 0, len(out.RSSMiB))
	for n := range out.RSSMiB {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("rss %s %d MiB\n", n, out.RSSMiB[n])
	}
	return nil
}

type sendable struct {
	node  string // provider ID = node name
	tx    []byte
	items int
}

type linkedPerson struct{ provider, mykey string }

var mempoolFull = regexp.MustCompile(`mempool is full`)

// phase sends txs and waits until they are committed, then measures over
// the blocks that hold them.
func (g *loadgen) phase(name string, txs []sendable) (*phase, []linkedPerson, error) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	first := g.rpc[g.lay.Nodes[0].Name]
	st, err := first.Status(ctx)
	if err != nil {
		return nil, nil, err
	}
	startHeight := st.SyncInfo.LatestBlockHeight
	p := &phase{Name: name, Sent: len(txs)}
	msg("%s: sending %d transactions from height %d...", name, len(txs), startHeight)
	var accepted atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, g.inflight)
	var wg sync.WaitGroup
	for _, s := range txs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for ctx.Err() == nil {
				res, err := g.rpc[s.node].BroadcastTxSync(ctx, s.tx)
				if err != nil && mempoolFull.MatchString(err.Error()) {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if err == nil && res.Code == 0 {
					accepted.Add(1)
				} else if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
				}
				return
			}
		}()
	}
	wg.Wait()
	p.Accepted = int(accepted.Load())
	if p.Accepted < len(txs) {
		e, _ := firstErr.Load().(string)
		msg("%s: %d of %d refused by CheckTx (first: %s)", name, len(txs)-p.Accepted, len(txs), e)
	}

	// Scan blocks until every accepted tx is in one.
	var linked []linkedPerson
	var txsInBlocks, items int
	var firstTime, lastTime time.Time
	h := startHeight
	for txsInBlocks < p.Accepted {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s: only %d of %d transactions committed before the timeout", name, txsInBlocks, p.Accepted)
		}
		next := h + 1
		res, err := first.BlockResults(ctx, &next)
		if err != nil {
			time.Sleep(100 * time.Millisecond) // not made yet
			continue
		}
		blk, err := first.Block(ctx, &next)
		if err != nil {
			return nil, nil, err
		}
		if h == startHeight {
			prev, err := first.Block(ctx, &h)
			if err != nil {
				return nil, nil, err
			}
			firstTime = prev.Block.Time
		}
		h = next
		lastTime = blk.Block.Time
		p.Blocks++
		txsInBlocks += len(res.TxResults)
		p.MaxBlockTxs = max(p.MaxBlockTxs, len(res.TxResults))
		for _, r := range res.TxResults {
			if r.Code == 0 {
				p.CommittedOK++
			}
			for _, ev := range r.Events {
				a := map[string]string{}
				for _, kv := range ev.Attributes {
					a[kv.Key] = kv.Value
				}
				if a["outcome"] != "accepted" {
					continue
				}
				items++
				if ev.Type == "link" {
					linked = append(linked, linkedPerson{a["provider"], a["mykey_id"]})
				}
			}
		}
	}
	p.Seconds = lastTime.Sub(firstTime).Seconds()
	if p.Seconds > 0 {
		p.BlocksPerS = float64(p.Blocks) / p.Seconds
		p.TxPerS = float64(txsInBlocks) / p.Seconds
		p.ItemsPerS = float64(items) / p.Seconds
	}
	msg("%s: %d transactions in blocks %d..%d over %.1f s", name, txsInBlocks, startHeight+1, h, p.Seconds)
	return p, linked, nil
}

// parallel runs f(0..n-1) on all CPUs.
func parallel(n int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 * runtime.NumCPU() {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				f(k)
			}
		})
	}
	wg.Wait()
}

// rss reads the resident memory of the nodes whose PIDs scripts/localnet.sh
// recorded in dir/node*.pid.
func rss(dir string) map[string]int {
	files, _ := filepath.Glob(filepath.Join(dir, "node*.pid"))
	out := map[string]int{}
	for _, file := range files {
		bz, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(bz)), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				out[strings.TrimSuffix(filepath.Base(file), ".pid")] = kb / 1024
			}
		}
	}
	return out
}

func msg(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
