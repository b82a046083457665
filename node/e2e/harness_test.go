package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

func TestMain(m *testing.M) { os.Exit(testnet.Main(m)) }

// network is a test network of mykeyd processes (internal/testnet), and
// the test it serves.
type network struct {
	*testnet.Network
	t   *testing.T
	lay *netlayout.Layout
}

// newNetwork writes a test network (without starting it) with opts, on
// chain mykey-e2e, with a port range for one more node (AddNode).
func newNetwork(t *testing.T, opts testnet.Options) *network {
	t.Helper()
	opts.ChainID, opts.SpareNodes, opts.NoStart = "mykey-e2e", 1, true
	n := testnet.Start(t, opts)
	return &network{Network: n, t: t, lay: n.Layout}
}

func ctxT(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// appHashAt is node i's own app hash after executing block h (from its
// FinalizeBlock result, as kept in its state store).
func (nw *network) appHashAt(i int, h int64) []byte {
	nw.t.Helper()
	ctx, cancel := ctxT(5 * time.Second)
	defer cancel()
	r, err := nw.RPC[i].BlockResults(ctx, &h)
	if err != nil {
		nw.t.Fatalf("node %d: block results %d: %v", i, h, err)
	}
	return r.AppHash
}

// sameAppHashes checks that the nodes computed the same app hash at every
// height in [from, to].
func (nw *network) sameAppHashes(nodes []int, from, to int64) {
	nw.t.Helper()
	// A node reports a height as soon as it stored the block, before it
	// executed it and saved its results: read only heights every node is
	// past.
	for _, i := range nodes {
		nw.WaitHeight(nw.t, i, to+1, 60*time.Second)
	}
	for h := from; h <= to; h++ {
		want := nw.appHashAt(nodes[0], h)
		if len(want) == 0 {
			nw.t.Fatalf("node %d: no app hash at height %d", nodes[0], h)
		}
		for _, i := range nodes[1:] {
			if got := nw.appHashAt(i, h); !bytes.Equal(got, want) {
				nw.t.Fatalf("height %d: node %d app hash %X, node %d %X", h, nodes[0], want, i, got)
			}
		}
	}
}

// query asks node i for a record with a proof, and verifies the proof
// against the app hash in node i's header at the next height. It returns
// the value (nil if absent) and the height it is from.
func (nw *network) query(i int, key string) ([]byte, int64) {
	nw.t.Helper()
	r := nw.rawQuery(i, key)
	nw.verify(i, key, r)
	return r.Value, r.Height
}

// rawQuery asks node i for a record with a proof, without checking it.
func (nw *network) rawQuery(i int, key string) *abci.QueryResponse {
	nw.t.Helper()
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	res, err := nw.RPC[i].ABCIQueryWithOptions(ctx, "/"+key, nil, rpcclient.ABCIQueryOptions{Prove: true})
	if err != nil {
		nw.t.Fatalf("node %d: query %s: %v", i, key, err)
	}
	if res.Response.Code != 0 {
		nw.t.Fatalf("node %d: query %s: code %d %s", i, key, res.Response.Code, res.Response.Log)
	}
	return &res.Response
}

// verify checks a query answer's proof against the app hash of node i's
// header at the next height (the state after block h is committed to in
// header h+1).
func (nw *network) verify(i int, key string, r *abci.QueryResponse) {
	nw.t.Helper()
	next := r.Height + 1
	nw.WaitHeight(nw.t, i, next, 20*time.Second)
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	blk, err := nw.RPC[i].Block(ctx, &next)
	if err != nil {
		nw.t.Fatalf("node %d: block %d: %v", i, next, err)
	}
	root := blk.Block.AppHash
	if r.Value == nil {
		err = proof.VerifyAbsence(root, []byte(key), r.ProofOps)
	} else {
		err = proof.VerifyValue(root, []byte(key), r.Value, r.ProofOps)
	}
	if err != nil {
		nw.t.Fatalf("node %d: proof of %s at height %d does not verify: %v", i, key, r.Height, err)
	}
}

// queryAllSameHeight queries the nodes until all answer from the same
// height (the chain moves on between queries), verifies every proof, and
// returns the values.
func (nw *network) queryAllSameHeight(nodes []int, key string) ([][]byte, int64) {
	nw.t.Helper()
	vals, hs := nw.queryManySameHeight(nodes, []string{key})
	return vals[0], hs[0]
}

// queryManySameHeight does queryAllSameHeight for many keys, verifying the
// proofs at the end (so that it waits for a new block at most once).
func (nw *network) queryManySameHeight(nodes []int, keys []string) ([][][]byte, []int64) {
	nw.t.Helper()
	answers := make([][]*abci.QueryResponse, len(keys))
	for j, key := range keys {
		for try := 0; answers[j] == nil; try++ {
			if try == 100 {
				nw.t.Fatalf("nodes never answered %s from the same height", key)
			}
			rs := make([]*abci.QueryResponse, len(nodes))
			same := true
			for k, i := range nodes {
				rs[k] = nw.rawQuery(i, key)
				same = same && rs[k].Height == rs[0].Height
			}
			if same {
				answers[j] = rs
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	vals := make([][][]byte, len(keys))
	hs := make([]int64, len(keys))
	for j, key := range keys {
		for k, i := range nodes {
			nw.verify(i, key, answers[j][k])
			vals[j] = append(vals[j], answers[j][k].Value)
		}
		hs[j] = answers[j][0].Height
	}
	return vals, hs
}

// ---- transactions ----

// cards issues n test cards from the network's CA.
func (nw *network) cards(n int) []*testca.Card {
	nw.t.Helper()
	out := make([]*testca.Card, n)
	for i := range out {
		c, err := nw.CA.Issue(testca.CardOptions{})
		if err != nil {
			nw.t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

// linkTx is the card's signed link to provider with the account behind
// token.
func (nw *network) linkTx(card *testca.Card, provider, token string) []byte {
	nw.t.Helper()
	req := txbuild.LinkRequest(nw.lay.ChainID, node.DefaultProgram, provider, token, time.Now().Add(time.Hour), card.CertDER)
	sig, err := card.Sign(req.SignBytes())
	if err != nil {
		nw.t.Fatal(err)
	}
	bz, err := txbuild.LinkTx(&types.SignedLink{Request: req, Signature: sig})
	if err != nil {
		nw.t.Fatal(err)
	}
	return bz
}

// linkCards links n new cards: card k to providers[k%len(providers)] with
// the account behind token acct-k, sent to node via[k%len(via)]. It waits
// until node on has committed every link and returns the links' txs and
// the people's MyKey IDs, failing the test if a link is not accepted.
func (nw *network) linkCards(n int, providers []string, via []int, on int) (txs [][]byte, mykeys []string) {
	nw.t.Helper()
	for k, c := range nw.cards(n) {
		tx := nw.linkTx(c, providers[k%len(providers)], fmt.Sprintf("acct-%d", k))
		if res, err := nw.broadcast(via[k%len(via)], tx); err != nil || res.Code != 0 {
			nw.t.Fatalf("link %d: %v %+v", k, err, res)
		}
		txs = append(txs, tx)
	}
	for k, tx := range txs {
		r := nw.committed(on, tx, 30*time.Second)
		if r == nil || r.TxResult.Code != 0 {
			nw.t.Fatalf("link %d not committed: %+v", k, r)
		}
		mykeys = append(mykeys, attr(r.TxResult, types.EventLink, types.AttrMyKeyID))
	}
	return txs, mykeys
}

// grantTx is provider's signed grant of one charge per ref.
func (nw *network) grantTx(provider, mykey string, amount int64, refs ...string) []byte {
	nw.t.Helper()
	var charges []*types.Charge
	for _, ref := range refs {
		charges = append(charges, &types.Charge{ProgramId: node.DefaultProgram, MykeyId: mykey,
			ChargeRef: ref, AmountYen: amount, ChargedAt: time.Now().Add(-time.Minute).Unix()})
	}
	bz, err := txbuild.GrantTx(nw.ProviderKeys[provider], nw.lay.ChainID, charges)
	if err != nil {
		nw.t.Fatal(err)
	}
	return bz
}

// govTx is the government's action a with sequence seq, signed with its
// first authority key (a test network's threshold is 1).
func (nw *network) govTx(seq uint64, a *types.GovAction) []byte {
	nw.t.Helper()
	a.ChainId, a.Sequence = nw.lay.ChainID, seq
	sig, err := txbuild.SignGov(nw.GovKeys[0], a)
	if err != nil {
		nw.t.Fatal(err)
	}
	s, err := txbuild.Combine(a, []*txbuild.SignatureFile{sig}, []string{"gov-0"})
	if err != nil {
		nw.t.Fatal(err)
	}
	tx, err := txbuild.GovTx(s)
	if err != nil {
		nw.t.Fatal(err)
	}
	return tx
}

// broadcast sends tx to node i and returns CheckTx's answer. CometBFT
// v1.0's broadcast_tx_sync reports a rejection by CheckTx as an RPC error
// ("tx ... is invalid: code=N, ..."); broadcast turns that back into the
// result it stands for.
func (nw *network) broadcast(i int, tx []byte) (*ctypes.ResultBroadcastTx, error) {
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	res, err := nw.RPC[i].BroadcastTxSync(ctx, tx)
	if err != nil {
		if m := invalidTxRE.FindStringSubmatch(err.Error()); m != nil {
			code, _ := strconv.ParseUint(m[1], 10, 32)
			return &ctypes.ResultBroadcastTx{Code: uint32(code), Log: m[2], Codespace: m[3]}, nil
		}
	}
	return res, err
}

var invalidTxRE = regexp.MustCompile(`is invalid: code=(\d+), data=[0-9A-Fa-f]*, log='(.*)', codespace='([^']*)'`)

// committed waits up to timeout for tx to be in a block, as seen by node
// i; nil if it is not.
func (nw *network) committed(i int, tx []byte, timeout time.Duration) *ctypes.ResultTx {
	hash := sha256.Sum256(tx)
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := ctxT(5 * time.Second)
		r, err := nw.RPC[i].Tx(ctx, hash[:], false)
		cancel()
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fate waits for tx, which CheckTx accepted, to be committed (its result,
// as node nodes[0] indexed it) or to be gone from every node's mempool
// (nil): twice in a row, a block apart, in no block and no mempool.
func (nw *network) fate(tx []byte, nodes []int, timeout time.Duration) *ctypes.ResultTx {
	nw.t.Helper()
	hash := sha256.Sum256(tx)
	deadline := time.Now().Add(timeout)
	goneAt := int64(-1) // height at which tx was first seen nowhere
	for {
		if r := nw.committed(nodes[0], tx, 0); r != nil {
			return r
		}
		if nw.inAnyMempool(hash[:], nodes) {
			goneAt = -1
		} else if h := nw.MustHeight(nw.t, nodes[0]); goneAt < 0 {
			goneAt = h
		} else if h > goneAt {
			return nil
		}
		if time.Now().After(deadline) {
			nw.t.Fatalf("tx %X neither committed nor dropped within %s", hash, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inAnyMempool reports whether a node holds the tx with this hash in its
// mempool.
func (nw *network) inAnyMempool(hash []byte, nodes []int) bool {
	nw.t.Helper()
	limit := 1000
	for _, i := range nodes {
		ctx, cancel := ctxT(5 * time.Second)
		r, err := nw.RPC[i].UnconfirmedTxs(ctx, &limit)
		cancel()
		if err != nil {
			nw.t.Fatalf("node %d: unconfirmed txs: %v", i, err)
		}
		if r.Total > len(r.Txs) {
			return true // cannot see them all: assume it may be there
		}
		for _, tx := range r.Txs {
			if h := sha256.Sum256(tx); bytes.Equal(h[:], hash) {
				return true
			}
		}
	}
	return false
}

// attr returns the first value of key in an event of type typ.
func attr(res abci.ExecTxResult, typ, key string) string {
	for _, ev := range res.Events {
		if ev.Type != typ {
			continue
		}
		for _, a := range ev.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

func hexHash(tx []byte) string {
	h := sha256.Sum256(tx)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// decode unmarshals a record.
func decode[T any, P interface {
	*T
	Unmarshal([]byte) error
}](t *testing.T, bz []byte) *T {
	t.Helper()
	v := P(new(T))
	if err := v.Unmarshal(bz); err != nil {
		t.Fatal(err)
	}
	return v
}
