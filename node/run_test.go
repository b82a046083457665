package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/syncbuf"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet/freeport"
)

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freshDefaultRegistry puts a fresh registry in place of Prometheus's
// default one (where CometBFT registers its metrics) until t ends, so that
// each run of a test (-count) registers anew.
func freshDefaultRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	defReg, defGat := prometheus.DefaultRegisterer, prometheus.DefaultGatherer
	prometheus.DefaultRegisterer, prometheus.DefaultGatherer = reg, reg
	t.Cleanup(func() { prometheus.DefaultRegisterer, prometheus.DefaultGatherer = defReg, defGat })
}

// oneNodeNet writes a one-validator test network on free ports (with the
// given consensus timeouts; 0 keeps the default) and returns its layout
// and its node's config.
func oneNodeNet(t *testing.T, timeoutPropose, timeoutCommit time.Duration) (*netlayout.Layout, *Config) {
	t.Helper()
	lay, err := Testnet(TestnetOptions{Validators: 1, Output: filepath.Join(t.TempDir(), "net"), BasePort: freeport.Base(t, 1, PortsPerNode),
		TimeoutPropose: timeoutPropose, TimeoutCommit: timeoutCommit})
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(lay.Nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	return lay, c
}

func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	bz, err := io.ReadAll(res.Body)
	return res.StatusCode, string(bz), err
}

// TestNodesInProcess runs a two-validator network of Nodes in this
// process (New, Start, Stop), so that the race detector (scripts/test.sh's
// race step) sees CometBFT, the app, the metrics wrapper and the
// readiness endpoint working at once: blocks are made, a link sent to one
// node is committed and found on the other, /ready and /metrics answer
// with it, and both nodes stop cleanly.
func TestNodesInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network; skipped with -short")
	}
	lay, err := Testnet(TestnetOptions{Validators: 2, Output: filepath.Join(t.TempDir(), "net"),
		BasePort: freeport.Base(t, 2, PortsPerNode), TimeoutPropose: time.Second, TimeoutCommit: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT and NewMetrics register on Prometheus's default registry.
	freshDefaultRegistry(t)
	logs := make([]*syncbuf.Buffer, 2)
	nodes := make([]*Node, 2)
	rpcs := make([]*rpchttp.HTTP, 2)
	defer func() {
		for i, n := range nodes {
			if n != nil {
				_ = n.Stop()
			}
			if t.Failed() && logs[i] != nil {
				lines := strings.Split(strings.TrimSpace(logs[i].String()), "\n")
				t.Logf("---- node %d's last log lines ----\n%s", i, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	}()
	for i := range nodes {
		c, err := LoadConfig(lay.Nodes[i].Home)
		if err != nil {
			t.Fatal(err)
		}
		// Metrics go on the process's one Prometheus registry: one node
		// only.
		c.Comet.Instrumentation.Prometheus = i == 0
		logs[i] = &syncbuf.Buffer{}
		logger, err := NewLogger(c.Comet, logs[i])
		if err != nil {
			t.Fatal(err)
		}
		logger = logger.With("node", i)
		n, err := New(context.Background(), c, logger)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		if rpcs[i], err = rpchttp.NewWithTimeout(lay.Nodes[i].RPC, 10); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range nodes {
		waitUntil(t, 60*time.Second, fmt.Sprintf("node %d to make block 2", i), func() bool { return n.Comet().BlockStore().Height() >= 2 })
	}

	// A link to node 1's provider, sent to node 0.
	ca, err := testca.Load(lay.TestCA)
	if err != nil {
		t.Fatal(err)
	}
	card, err := ca.Issue(testca.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	provider := lay.Nodes[1].ProviderID
	req := &types.LinkRequest{ChainId: lay.ChainID, ProgramId: DefaultProgram, ProviderId: provider,
		AccountCommitment: bytes.Repeat([]byte{7}, 32), ExpiresAt: time.Now().Add(time.Hour).Unix(), Certificate: card.CertDER}
	sig, err := card.Sign(req.SignBytes())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.EncodeTx(types.WrapLink(&types.SignedLink{Request: req, Signature: sig}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := rpcs[0].BroadcastTxSync(ctx, tx); err != nil || res.Code != 0 {
		t.Fatalf("broadcast: %v %+v", err, res)
	}
	hash := sha256.Sum256(tx)
	var mykey string
	waitUntil(t, 30*time.Second, "the link to be committed", func() bool {
		r, err := rpcs[1].Tx(ctx, hash[:], false)
		if err != nil {
			return false
		}
		if r.TxResult.Code != 0 {
			t.Fatalf("link committed with code %d: %s", r.TxResult.Code, r.TxResult.Log)
		}
		for _, ev := range r.TxResult.Events {
			for _, a := range ev.Attributes {
				if ev.Type == "link" && a.Key == "mykey_id" {
					mykey = a.Value
				}
			}
		}
		return true
	})
	if mykey == "" {
		t.Fatal("the committed link has no mykey_id event attribute")
	}
	q, err := rpcs[1].ABCIQuery(ctx, "/"+string(types.KeyLink(DefaultProgram, mykey)), nil)
	if err != nil || q.Response.Code != 0 || q.Response.Value == nil {
		t.Fatalf("node 1 does not hold the linkage of %s: %v %+v", mykey, err, q)
	}

	// Readiness: both nodes have their one peer and blocks.
	for i := range nodes {
		code, body, err := httpGet(lay.Nodes[i].Ready)
		var r readyReply
		if err != nil || code != http.StatusOK || json.Unmarshal([]byte(body), &r) != nil || !r.Ready || r.Peers != 1 {
			t.Fatalf("node %d: /ready: %d %s %v", i, code, body, err)
		}
	}
	// Metrics: node 0 counted the link once it was committed.
	waitUntil(t, 10*time.Second, "node 0's metrics to count the link", func() bool {
		_, body, err := httpGet(lay.Nodes[0].Metrics)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(body, "\n") {
			if strings.Contains(line, "mykey_links_total{") && strings.Contains(line, `provider="`+provider+`"`) && strings.HasSuffix(line, " 1") {
				return true
			}
		}
		return false
	})

	for i, n := range nodes {
		nodes[i] = nil
		if err := n.Stop(); err != nil {
			t.Fatalf("node %d: stop: %v", i, err)
		}
	}
}

// TestStartFails checks that a node whose CometBFT cannot start (its RPC
// port is taken) reports it from Start, and that Stop then succeeds and
// frees the readiness port that Start had opened first. Under the race
// detector it also checks that the readiness server's goroutine does not
// race with that Stop.
func TestStartFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node; skipped with -short")
	}
	freshDefaultRegistry(t) // CometBFT registers its metrics there

	_, c := oneNodeNet(t, 0, 0)
	taken, err := net.Listen("tcp", strings.TrimPrefix(c.Comet.RPC.ListenAddress, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	n, err := New(context.Background(), c, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err == nil {
		_ = n.Stop()
		t.Fatal("Start succeeded with the RPC port taken")
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop after a failed Start: %v", err)
	}
	l, err := net.Listen("tcp", strings.TrimPrefix(c.App.ReadyListenAddr, "tcp://"))
	if err != nil {
		t.Fatalf("readiness port still held after Stop: %v", err)
	}
	l.Close()
}

// TestWrongPseudonymKeyStops: a node whose network pseudonym key is missing
// or is not the one genesis commits to stops before CometBFT starts, with a
// message naming the key file and what to do.
func TestWrongPseudonymKeyStops(t *testing.T) {
	_, c := oneNodeNet(t, 0, 0)
	path := c.PseudonymKeyPath()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), c, log.NewNopLogger())
	if err == nil || !strings.Contains(err.Error(), "no pseudonym key in "+path) || !strings.Contains(err.Error(), "key ceremony") {
		t.Fatalf("start without a pseudonym key: %v", err)
	}
	other, err := pseudonym.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := pseudonym.WriteFile(path, other); err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), c, log.NewNopLogger())
	want := "pseudonym key in " + path + " does not match the network's commitment in genesis: get the network's key from the government's key ceremony"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("start with another network's pseudonym key: %v", err)
	}
	if _, err := os.Stat(c.AppStatePath()); err == nil {
		t.Fatal("the node opened its app state before checking its pseudonym key")
	}
}
