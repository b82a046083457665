package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/node"
)

// mykeyd is the binary under test, built by TestMain.
var mykeyd string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mykeyd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	mykeyd = filepath.Join(dir, "mykeyd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", mykeyd, "github.com/mykeyledger/mykey/cmd/mykeyd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building mykeyd: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Test network timing: short consensus timeouts keep the tests fast.
const (
	timeoutPropose = "1s"
	timeoutCommit  = "300ms"
)

// network is a test network of mykeyd processes.
type network struct {
	t     *testing.T
	dir   string
	base  int // first port; node i uses base+node.PortsPerNode*i ...
	lay   *netlayout.Layout
	procs []*proc
	rpc   []*rpchttp.HTTP
	ca    *testca.CA
	keys  map[string]*keyfile.Key // provider grant keys
}

// proc is one running mykeyd.
type proc struct {
	cmd  *exec.Cmd
	done chan error // receives Wait's result once
	log  *os.File
}

// newNetwork writes an n-validator test network (without starting it).
// extra are further `mykeyd testnet` flags.
func newNetwork(t *testing.T, n int, extra ...string) *network {
	return newNetworkSpare(t, n, 1, extra...)
}

// newNetworkSpare is newNetwork with port ranges for spare more nodes.
func newNetworkSpare(t *testing.T, n, spare int, extra ...string) *network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real networks; skipped with -short")
	}
	dir := t.TempDir()
	base := freeBasePort(t, n+spare)
	args := append([]string{"testnet", "--validators", strconv.Itoa(n), "--output", filepath.Join(dir, "net"),
		"--chain-id", "mykey-e2e", "--base-port", strconv.Itoa(base), "--cards", "0",
		"--timeout-propose", timeoutPropose, "--timeout-commit", timeoutCommit}, extra...)
	if out, err := exec.Command(mykeyd, args...).CombinedOutput(); err != nil {
		t.Fatalf("mykeyd testnet: %v\n%s", err, out)
	}
	lay, err := netlayout.Load(filepath.Join(dir, "net"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testca.Load(lay.TestCA)
	if err != nil {
		t.Fatal(err)
	}
	nw := &network{t: t, dir: dir, base: base, lay: lay, procs: make([]*proc, n), ca: ca, keys: map[string]*keyfile.Key{}}
	for id, path := range lay.ProviderKeys {
		k, err := keyfile.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		nw.keys[id] = k
	}
	for _, nd := range lay.Nodes {
		c, err := rpchttp.NewWithTimeout(nd.RPC, 10)
		if err != nil {
			t.Fatal(err)
		}
		nw.rpc = append(nw.rpc, c)
	}
	t.Cleanup(nw.cleanup)
	return nw
}

// freeBasePort finds a base port whose node ranges (node.PortsPerNode
// each, for nodes nodes) are free on 127.0.0.1.
func freeBasePort(t *testing.T, nodes int) int {
	t.Helper()
	for range 200 {
		// Below 32768: Linux hands out ports from 32768 up to outgoing
		// connections, which could take a port between this check and
		// the node binding it.
		base := 20000 + rand.IntN(12000/node.PortsPerNode)*node.PortsPerNode
		ok := true
		for i := 0; i < nodes*node.PortsPerNode && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range on 127.0.0.1")
	return 0
}

// addNode sets up a new full node (not a validator) with the network's
// genesis and every validator as a peer, on the next free port range, and
// returns its index. The validators admit it once it is registered
// (setNodes).
func (nw *network) addNode(name string) int {
	nw.t.Helper()
	i := len(nw.lay.Nodes)
	home := filepath.Join(nw.dir, name)
	port := nw.base + node.PortsPerNode*i
	var peers []string
	for _, n := range nw.lay.Nodes {
		peers = append(peers, n.P2P)
	}
	out, err := exec.Command(mykeyd, "init", "--home", home, "--chain-id", nw.lay.ChainID, "--moniker", name,
		"--genesis", nw.lay.Genesis, "--peers", strings.Join(peers, ","),
		// The network's pseudonym key, as its key ceremony hands it out.
		"--pseudonym-key", filepath.Join(nw.lay.Nodes[0].Home, node.DefaultPseudonymKeyFile),
		"--p2p-laddr", fmt.Sprintf("tcp://127.0.0.1:%d", port),
		"--rpc-laddr", fmt.Sprintf("tcp://127.0.0.1:%d", port+1),
		"--metrics-laddr", fmt.Sprintf("127.0.0.1:%d", port+2),
		"--ready-laddr", fmt.Sprintf("tcp://127.0.0.1:%d", port+3),
		"--public-laddr", fmt.Sprintf("tcp://127.0.0.1:%d", port+4),
		"--json").Output()
	if err != nil {
		nw.t.Fatalf("mykeyd init: %v", err)
	}
	var res struct {
		NodeID string `json:"node_id"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		nw.t.Fatalf("mykeyd init --json: %v: %s", err, out)
	}
	// Loopback peers: as mykeyd testnet sets them.
	c, err := node.LoadConfig(home)
	if err != nil {
		nw.t.Fatal(err)
	}
	c.Comet.P2P.AllowDuplicateIP = true
	c.Comet.P2P.AddrBookStrict = false
	if err := c.Save(); err != nil {
		nw.t.Fatal(err)
	}
	nd := netlayout.Node{Name: name, Role: "full", Home: home, NodeID: res.NodeID,
		RPC:    fmt.Sprintf("http://127.0.0.1:%d", port+1),
		P2P:    fmt.Sprintf("%s@127.0.0.1:%d", res.NodeID, port),
		Public: fmt.Sprintf("http://127.0.0.1:%d", port+4),
	}
	rc, err := rpchttp.NewWithTimeout(nd.RPC, 10)
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.lay.Nodes = append(nw.lay.Nodes, nd)
	nw.rpc = append(nw.rpc, rc)
	nw.procs = append(nw.procs, nil)
	return i
}

// startAll starts every node and waits until all have made block 2.
func (nw *network) startAll() {
	nw.t.Helper()
	for i := range nw.procs {
		nw.start(i)
	}
	for i := range nw.procs {
		nw.waitHeight(i, 2, 60*time.Second)
	}
}

// start starts node i as a mykeyd process, its logs appended to
// <dir>/node<i>.log.
func (nw *network) start(i int) {
	nw.t.Helper()
	nw.startEnv(i)
}

// startEnv is start with env (NAME=value) added to the process's
// environment.
func (nw *network) startEnv(i int, env ...string) {
	nw.t.Helper()
	if nw.procs[i] != nil {
		nw.t.Fatalf("node %d is already running", i)
	}
	nw.procs[i] = startProc(nw.t, nw.lay.Nodes[i].Home, nw.logPath(i), env...)
}

// logPath is the file node i logs to.
func (nw *network) logPath(i int) string {
	return filepath.Join(nw.dir, fmt.Sprintf("node%d.log", i))
}

func startProc(t *testing.T, home, logPath string, env ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mykeyd, "start", "--home", home)
	cmd.Stdout, cmd.Stderr = f, f
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), log: f}
	go func() { p.done <- cmd.Wait() }()
	return p
}

// kill kills node i with SIGKILL.
func (nw *network) kill(i int) {
	nw.t.Helper()
	p := nw.procs[i]
	nw.procs[i] = nil
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		nw.t.Fatal(err)
	}
	<-p.done
	p.log.Close()
}

// waitExit waits up to timeout for node i to exit by itself and returns
// its exit status (-1 if a signal ended it).
func (nw *network) waitExit(i int, timeout time.Duration) int {
	nw.t.Helper()
	p := nw.procs[i]
	select {
	case err := <-p.done:
		nw.procs[i] = nil
		p.log.Close()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			nw.t.Fatalf("node %d: wait: %v", i, err)
		}
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		nw.t.Fatalf("node %d did not exit within %s", i, timeout)
		return 0
	}
}

// stop stops node i with SIGTERM and requires a clean exit within 30 s.
func (nw *network) stop(i int) {
	nw.t.Helper()
	p := nw.procs[i]
	nw.procs[i] = nil
	if err := stopProc(p); err != nil {
		nw.t.Fatalf("node %d: %v", i, err)
	}
}

func stopProc(p *proc) error {
	defer p.log.Close()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("exit after SIGTERM: %v", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return errors.New("did not exit within 30 s of SIGTERM")
	}
}

// cleanup kills what is still running and, if the test failed, shows the
// end of every node's log.
func (nw *network) cleanup() {
	for i, p := range nw.procs {
		if p != nil {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			p.log.Close()
			nw.procs[i] = nil
		}
	}
	if nw.t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(nw.dir, "*.log"))
		keep := os.Getenv("E2E_LOGDIR") // keep the whole logs there
		for _, l := range logs {
			bz, _ := os.ReadFile(l)
			if keep != "" {
				dst := filepath.Join(keep, nw.t.Name(), filepath.Base(l))
				if os.MkdirAll(filepath.Dir(dst), 0o755) == nil && os.WriteFile(dst, bz, 0o644) == nil {
					nw.t.Logf("kept %s", dst)
				}
			}
			lines := strings.Split(strings.TrimSpace(string(bz)), "\n")
			nw.t.Logf("---- last lines of %s ----\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-25):], "\n"))
		}
	}
}

func ctxT(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// height returns node i's latest block height (0 if unreachable).
func (nw *network) height(i int) int64 {
	ctx, cancel := ctxT(3 * time.Second)
	defer cancel()
	st, err := nw.rpc[i].Status(ctx)
	if err != nil {
		return 0
	}
	return st.SyncInfo.LatestBlockHeight
}

// mustHeight is height, failing the test if node i does not answer.
func (nw *network) mustHeight(i int) int64 {
	nw.t.Helper()
	ctx, cancel := ctxT(5 * time.Second)
	defer cancel()
	st, err := nw.rpc[i].Status(ctx)
	if err != nil {
		nw.t.Fatalf("node %d: status: %v", i, err)
	}
	return st.SyncInfo.LatestBlockHeight
}

// waitHeight waits until node i has block h.
func (nw *network) waitHeight(i int, h int64, timeout time.Duration) {
	nw.t.Helper()
	waitFor(nw.t, timeout, fmt.Sprintf("node %d to reach height %d", i, h), func() bool { return nw.height(i) >= h })
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// maxHeight is the highest height among the given nodes.
func (nw *network) maxHeight(nodes ...int) int64 {
	var h int64
	for _, i := range nodes {
		h = max(h, nw.height(i))
	}
	return h
}

// appHashAt is node i's own app hash after executing block h (from its
// FinalizeBlock result, as kept in its state store).
func (nw *network) appHashAt(i int, h int64) []byte {
	nw.t.Helper()
	ctx, cancel := ctxT(5 * time.Second)
	defer cancel()
	r, err := nw.rpc[i].BlockResults(ctx, &h)
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
		nw.waitHeight(i, to+1, 60*time.Second)
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
	res, err := nw.rpc[i].ABCIQueryWithOptions(ctx, "/"+key, nil, rpcclient.ABCIQueryOptions{Prove: true})
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
	nw.waitHeight(i, next, 20*time.Second)
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	blk, err := nw.rpc[i].Block(ctx, &next)
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
		c, err := nw.ca.Issue(testca.CardOptions{})
		if err != nil {
			nw.t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func commitment(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// linkTx is the card's signed link to provider with the account behind
// token.
func (nw *network) linkTx(card *testca.Card, provider, token string) []byte {
	nw.t.Helper()
	req := &types.LinkRequest{
		ChainId: nw.lay.ChainID, ProgramId: node.DefaultProgram, ProviderId: provider,
		AccountCommitment: commitment(token), ExpiresAt: time.Now().Add(time.Hour).Unix(),
		Certificate: card.CertDER,
	}
	sig, err := card.Sign(req.SignBytes())
	if err != nil {
		nw.t.Fatal(err)
	}
	bz, err := types.EncodeTx(types.WrapLink(&types.SignedLink{Request: req, Signature: sig}))
	if err != nil {
		nw.t.Fatal(err)
	}
	return bz
}

// grantTx is provider's signed grant of one charge per ref.
func (nw *network) grantTx(provider, mykey string, amount int64, refs ...string) []byte {
	nw.t.Helper()
	g := &types.Grant{ChainId: nw.lay.ChainID, ProviderId: provider}
	for _, ref := range refs {
		g.Charges = append(g.Charges, &types.Charge{ProgramId: node.DefaultProgram, MykeyId: mykey,
			ChargeRef: ref, AmountYen: amount, ChargedAt: time.Now().Add(-time.Minute).Unix()})
	}
	bz, err := types.EncodeTx(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: nw.keys[provider].Sign(g.SignBytes())}))
	if err != nil {
		nw.t.Fatal(err)
	}
	return bz
}

// broadcast sends tx to node i and returns CheckTx's answer. CometBFT
// v1.0's broadcast_tx_sync reports a rejection by CheckTx as an RPC error
// ("tx ... is invalid: code=N, ..."); broadcast turns that back into the
// result it stands for.
func (nw *network) broadcast(i int, tx []byte) (*ctypes.ResultBroadcastTx, error) {
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	res, err := nw.rpc[i].BroadcastTxSync(ctx, tx)
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
		r, err := nw.rpc[i].Tx(ctx, hash[:], false)
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
		} else if h := nw.mustHeight(nodes[0]); goneAt < 0 {
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
		r, err := nw.rpc[i].UnconfirmedTxs(ctx, &limit)
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
