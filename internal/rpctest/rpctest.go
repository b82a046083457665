// Package rpctest is an rpc.Node backed by an in-process app, for tests of
// the client: a one-node chain whose blocks are made on demand. A
// broadcast transaction runs CheckTx and waits in a mempool; every look
// for a transaction that is not committed yet makes a block (of the whole
// mempool, or of Options.BlockTxs transactions), executes it with
// FinalizeBlock and commits it, then rechecks what is left in the mempool,
// as CometBFT would. A block's time is a second after the last one's, or
// the wall clock if that is later: the commands sign link requests whose
// expiry the ledger checks against block time.
//
// New sets up a network like `mykeyd testnet` does: government authority
// keys (k of n), providers with grant keys, a JPKI-shaped test CA trusted
// by genesis, and the program "mynapoint" (25 %, cap ¥5,000).
package rpctest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app"
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Defaults of the test network.
const (
	ChainID = "mykey-rpctest"
	Program = "mynapoint"
	PIN     = "1234"
	URL     = "inprocess://rpctest"
)

// Providers are the providers registered at genesis.
var Providers = []string{"paypay", "linepay"}

// Options configure New.
type Options struct {
	GovKeys   int // default 1
	Threshold int // default 1
	// BlockTxs is the most transactions a block takes from the mempool
	// (0: all). What stays is rechecked after the block, and dropped if
	// it is no longer valid, as CometBFT's mempool does.
	BlockTxs int
}

// Node is an in-process node; it implements rpc.Node.
type Node struct {
	t   testing.TB
	mu  sync.Mutex
	app *app.App

	height   int64
	now      time.Time
	appHash  map[int64][]byte // app hash after block h (0: genesis)
	mempool  [][]byte
	inPool   map[[32]byte]bool
	txs      map[[32]byte]*rpc.Committed
	hold     bool
	blockTxs int
	Dir      string // holds the key files and card files
	CA       *testca.CA
	GovKeys  []string          // government key files
	ProvKeys map[string]string // provider ID → grant key file
	Blocks   int               // blocks made
	Dropped  int               // transactions dropped at recheck
	// PseudonymKey is the network pseudonym key, new for each chain.
	PseudonymKey pseudonym.Key
}

var _ rpc.Node = (*Node)(nil)

// New starts an in-process chain; it is closed when t ends.
func New(t testing.TB, opts Options) *Node {
	t.Helper()
	if opts.GovKeys == 0 {
		opts.GovKeys = 1
	}
	if opts.Threshold == 0 {
		opts.Threshold = 1
	}
	dir := t.TempDir()
	n := &Node{t: t, Dir: dir, appHash: map[int64][]byte{}, inPool: map[[32]byte]bool{},
		txs: map[[32]byte]*rpc.Committed{}, ProvKeys: map[string]string{},
		now: time.Now().UTC().Truncate(time.Second), blockTxs: opts.BlockTxs}
	n.CA = testca.MustCA(t)
	pk, err := pseudonym.Generate()
	if err != nil {
		t.Fatal(err)
	}
	n.PseudonymKey = pk
	st := types.GenesisState{
		PseudonymCommitment: pseudonym.Commitment(pk),
		Government: types.GenesisGovernment{Threshold: uint32(opts.Threshold), Name: "government",
			ValidatorKey: types.HexBytes(mustKey(t, "validator", "government").Public()), Power: 10},
		TrustAnchors: []string{string(n.CA.CertPEM)},
		Programs: []types.GenesisProgram{genesis.NewProgramPercent(Program, 2500, 5000, 1_000_000_000,
			n.now.Add(-time.Hour), n.now.AddDate(1, 0, 0))},
	}
	for i := range opts.GovKeys {
		k := mustKey(t, keyfile.RoleGovernment, fmt.Sprintf("government-%d", i))
		path := filepath.Join(dir, fmt.Sprintf("government-%d.json", i))
		mustSave(t, path, k)
		n.GovKeys = append(n.GovKeys, path)
		st.Government.Keys = append(st.Government.Keys, types.HexBytes(k.Public()))
	}
	for _, id := range Providers {
		k := mustKey(t, keyfile.RoleProvider, id)
		path := filepath.Join(dir, "provider-"+id+".json")
		mustSave(t, path, k)
		n.ProvKeys[id] = path
		st.Providers = append(st.Providers, types.GenesisProvider{ID: id, Name: id, GrantKey: types.HexBytes(k.Public())})
	}
	bz, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{InMemory: true, PseudonymKey: &n.PseudonymKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	n.app = a
	res, err := a.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: ChainID, Time: n.now, AppStateBytes: bz, InitialHeight: 1})
	if err != nil {
		t.Fatalf("rpctest: InitChain: %v", err)
	}
	n.appHash[0] = res.AppHash
	n.mu.Lock()
	n.block()
	n.mu.Unlock()
	return n
}

func mustKey(t testing.TB, role, id string) *keyfile.Key {
	k, err := keyfile.Generate(role, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSave(t testing.TB, path string, k *keyfile.Key) {
	if err := keyfile.Save(path, k); err != nil {
		t.Fatal(err)
	}
}

// Card issues a test card and writes it as a card file (PIN 1234); it
// returns the path.
func (n *Node) Card(name string) string {
	n.t.Helper()
	c := n.CA.MustIssue(n.t, testca.CardOptions{})
	path := filepath.Join(n.Dir, name+".card.json")
	err := cardfile.Create(path, &cardfile.Card{Certificate: c.CertDER, CACertificate: n.CA.Cert.Raw,
		Key: c.Key, PIN: PIN, TriesLeft: cardfile.AuthPINTries, SignTriesLeft: cardfile.SignPINTries})
	if err != nil {
		n.t.Fatal(err)
	}
	return path
}

// Hold stops (true) or resumes (false) making blocks on demand.
func (n *Node) Hold(hold bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hold = hold
}

// Block makes a block of everything in the mempool now.
func (n *Node) Block() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.block()
}

// Height is the last committed height.
func (n *Node) Height() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.height
}

// block executes and commits the next block; n.mu is held.
func (n *Node) block() {
	n.t.Helper()
	ctx := context.Background()
	txs := n.mempool
	n.mempool = nil
	if n.blockTxs > 0 && len(txs) > n.blockTxs {
		txs, n.mempool = txs[:n.blockTxs], txs[n.blockTxs:]
	}
	n.height++
	n.now = n.now.Add(time.Second)
	if wall := time.Now().UTC().Truncate(time.Second); wall.After(n.now) {
		n.now = wall
	}
	res, err := n.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Txs: txs, Height: n.height, Time: n.now})
	if err != nil {
		n.t.Fatalf("rpctest: FinalizeBlock %d: %v", n.height, err)
	}
	if _, err := n.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		n.t.Fatalf("rpctest: Commit %d: %v", n.height, err)
	}
	n.appHash[n.height] = res.AppHash
	for i, tx := range txs {
		h := sha256.Sum256(tx)
		delete(n.inPool, h)
		n.txs[h] = &rpc.Committed{Hash: h[:], Height: n.height, Result: *res.TxResults[i]}
	}
	n.Blocks++
	// Recheck what is left, as the mempool does after every block.
	kept := n.mempool[:0]
	for _, tx := range n.mempool {
		r, err := n.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_RECHECK})
		if err != nil {
			n.t.Fatalf("rpctest: recheck: %v", err)
		}
		if r.Code == 0 {
			kept = append(kept, tx)
		} else {
			delete(n.inPool, sha256.Sum256(tx))
			n.Dropped++
		}
	}
	n.mempool = kept
}

// URL implements rpc.Node.
func (n *Node) URL() string { return URL }

// Status implements rpc.Node.
func (n *Node) Status(context.Context) (*rpc.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return &rpc.Status{ChainID: ChainID, Height: n.height, Time: n.now}, nil
}

// Query implements rpc.Node.
func (n *Node) Query(ctx context.Context, path string, prove bool) (*abci.QueryResponse, error) {
	return n.app.Query(ctx, &abci.QueryRequest{Path: path, Prove: prove})
}

// QueryMany implements rpc.Node.
func (n *Node) QueryMany(ctx context.Context, paths []string) ([]*abci.QueryResponse, error) {
	out := make([]*abci.QueryResponse, len(paths))
	for i, p := range paths {
		r, err := n.Query(ctx, p, false)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// Broadcast implements rpc.Node.
func (n *Node) Broadcast(ctx context.Context, tx []byte) (*rpc.Broadcast, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := sha256.Sum256(tx)
	if n.inPool[h] || n.txs[h] != nil {
		return nil, rpc.ErrInCache
	}
	res, err := n.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		return nil, err
	}
	if res.Code == 0 {
		n.mempool = append(n.mempool, tx)
		n.inPool[h] = true
	}
	return &rpc.Broadcast{Hash: h[:], Code: res.Code, Codespace: res.Codespace, Log: res.Log}, nil
}

// CheckTx implements rpc.Node.
func (n *Node) CheckTx(ctx context.Context, tx []byte) (*abci.CheckTxResponse, error) {
	return n.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
}

// Tx implements rpc.Node; unless the node is held, it makes a block first
// (so that the chain moves on while a client waits).
func (n *Node) Tx(_ context.Context, hash []byte) (*rpc.Committed, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var h [32]byte
	copy(h[:], hash)
	if n.txs[h] != nil {
		return n.txs[h], nil
	}
	if !n.hold {
		n.block()
	}
	return n.txs[h], nil
}

// AppHash implements rpc.Node; it makes the block if it is the next one
// (and the node is not held).
func (n *Node) AppHash(_ context.Context, height int64) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if height == n.height+1 && !n.hold {
		n.block()
	}
	if height > n.height || height < 1 {
		return nil, rpc.ErrNoBlock
	}
	return n.appHash[height-1], nil
}
