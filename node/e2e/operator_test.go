package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/internal/testnet/freeport"
	"github.com/mykeyledger/mykey/node"
)

// TestOperatorSetup follows the README's "Running a validator" steps with
// two operators, the government and a provider, each on its own home:
// init, keygen, genesis build (with the J-LIS trust anchors and the
// commitment to the government's pseudonym key), init again with the
// genesis, the peer and (the provider) the network's pseudonym key, start,
// and blocks are made.
func TestOperatorSetup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nodes; skipped with -short")
	}
	dir := t.TempDir()
	base := freeport.Base(t, 2, node.PortsPerNode)
	mykeyd := testnet.Mykeyd(t)
	mykeydOut := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(mykeyd, args...).Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("mykeyd %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	const chain = "mykey-operators"
	names := []string{"government", "paypay"}
	type op struct{ home, nodeID, valKey, p2p, rpc, ready string }
	ops := make([]op, 2)
	for i, name := range names {
		port := base + node.PortsPerNode*i
		o := op{home: filepath.Join(dir, name),
			p2p:   fmt.Sprintf("127.0.0.1:%d", port),
			rpc:   fmt.Sprintf("127.0.0.1:%d", port+1),
			ready: fmt.Sprintf("127.0.0.1:%d", port+3)}
		var res struct {
			NodeID       string `json:"node_id"`
			ValidatorKey string `json:"validator_key"`
		}
		out := mykeydOut("init", "--home", o.home, "--chain-id", chain, "--moniker", name, "--json",
			"--p2p-laddr", "tcp://"+o.p2p, "--rpc-laddr", "tcp://"+o.rpc,
			"--metrics-laddr", fmt.Sprintf("127.0.0.1:%d", port+2), "--ready-laddr", "tcp://"+o.ready,
			"--public-laddr", fmt.Sprintf("tcp://127.0.0.1:%d", port+4))
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("init --json: %v: %s", err, out)
		}
		o.nodeID, o.valKey = res.NodeID, res.ValidatorKey
		if got := mykeydOut("show-node-id", "--home", o.home); got != o.nodeID {
			t.Fatalf("show-node-id %s, init said %s", got, o.nodeID)
		}
		if got := mykeydOut("show-validator", "--home", o.home); got != o.valKey {
			t.Fatalf("show-validator %s, init said %s", got, o.valKey)
		}
		ops[i] = o
	}
	govKey := mykeydOut("keygen", "--role", "government", "--id", "gov-0", "--out", filepath.Join(dir, "gov-0.json"))
	grantKey := mykeydOut("keygen", "--role", "provider", "--id", "paypay", "--out", filepath.Join(dir, "paypay-grant.json"))

	// The government assembles the app state; no trust_anchors: the J-LIS
	// roots go in. Each operator's node ID goes in too: nodes admit only
	// the registered ones as peers.
	appState := fmt.Sprintf(`{
  "government": {"keys": ["%s"], "threshold": 1, "validator_key": "%s", "power": 10, "name": "government", "node_ids": ["%s"]},
  "providers": [{"id": "paypay", "name": "PayPay", "grant_key": "%s", "validator_key": "%s", "power": 10, "node_ids": ["%s"]}],
  "programs": [{"id": "mynapoint", "name": "MyNa Point", "kind": "percent_of_charge", "rate_bp": 2500, "cap_yen": 5000,
    "budget_yen": 1000000000, "link_start": "2026-01-01T00:00:00Z", "link_end": "2027-01-01T00:00:00Z",
    "grant_start": "2026-01-01T00:00:00Z", "grant_end": "2027-01-01T00:00:00Z"}]
}`, govKey, ops[0].valKey, ops[0].nodeID, grantKey, ops[1].valKey, ops[1].nodeID)
	statePath := filepath.Join(dir, "app_state.json")
	if err := os.WriteFile(statePath, []byte(appState), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "genesis.json")
	// The network pseudonym key is the one the government's init made;
	// genesis holds its commitment.
	netKey := filepath.Join(ops[0].home, node.DefaultPseudonymKeyFile)
	mykeydOut("genesis", "build", "--chain-id", chain, "--app-state", statePath, "--out", gen, "--pseudonym-key", netKey)
	if out := mykeydOut("genesis", "validate", gen); !strings.Contains(out, "validator paypay") || !strings.Contains(out, "2 trust anchors") ||
		!strings.Contains(out, "2 registered P2P node IDs") {
		t.Fatalf("genesis validate:\n%s", out)
	}
	doc, err := genesis.Load(gen)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(doc.AppState.TrustAnchors, "") != strings.Join(genesis.ProductionTrustAnchors(), "") {
		t.Fatal("genesis build did not use the J-LIS trust anchors")
	}

	// The provider's node holds a key of its own, made by its first init:
	// it refuses the network's genesis until it is given the network's key
	// (from the government's key ceremony).
	provKey := filepath.Join(ops[1].home, node.DefaultPseudonymKeyFile)
	if out, err := exec.Command(mykeyd, "init", "--home", ops[1].home, "--chain-id", chain, "--genesis", gen).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "does not match the network's commitment") || !strings.Contains(string(out), provKey) {
		t.Fatalf("init with genesis and another pseudonym key: %v\n%s", err, out)
	}
	if err := os.Remove(provKey); err != nil {
		t.Fatal(err)
	}
	for i := range ops {
		peer := ops[1-i]
		mykeydOut("init", "--home", ops[i].home, "--chain-id", chain, "--genesis", gen, "--peers", peer.nodeID+"@"+peer.p2p,
			"--pseudonym-key", netKey)
	}
	// Loopback peers need these two settings (mykeyd testnet sets them).
	for _, o := range ops {
		cfgPath := filepath.Join(o.home, "config", "config.toml")
		bz, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(bz), "addr_book_strict = true", "addr_book_strict = false", 1)
		s = strings.Replace(s, "allow_duplicate_ip = false", "allow_duplicate_ip = true", 1)
		if err := os.WriteFile(cfgPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var procs []*testnet.Process
	for i, o := range ops {
		procs = append(procs, testnet.StartProcess(t, mykeyd, o.home, filepath.Join(dir, fmt.Sprintf("node%d.log", i))))
	}
	c, err := rpchttp.NewWithTimeout("http://"+ops[1].rpc, 5)
	if err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, 60*time.Second, "the two operators' nodes to make block 3", func() bool {
		ctx, cancel := ctxT(3 * time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		return err == nil && st.SyncInfo.LatestBlockHeight >= 3
	})
	testnet.WaitFor(t, 20*time.Second, "the provider's node to be ready", func() bool {
		resp, err := http.Get("http://" + ops[1].ready + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for i, p := range procs {
		if err := p.Stop(testnet.StopTimeout); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}
