package testnet

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/node"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestNetwork runs a two-validator network through what the harness does
// to nodes: the layout and keys it returns, a config tweak and extra
// environment applied, pause and resume, kill and start, restart, and a
// clean stop of both.
func TestNetwork(t *testing.T) {
	nw := Start(t, Options{Validators: 2, Cards: 1, GovernmentKeys: 3, GovernmentThreshold: 2,
		Env:    map[int][]string{1: {"MYKEY_TESTNET_SELFTEST=1"}},
		Config: func(i int, c *node.Config) { c.Comet.Moniker = "tweaked-" + c.Comet.Moniker }})
	if len(nw.Layout.Nodes) != 2 || len(nw.RPC) != 2 || len(nw.GovKeys) != 3 || nw.Layout.GovernmentThreshold != 2 ||
		len(nw.Layout.TestCards) != 1 || nw.ProviderKeys["paypay"] == nil || nw.CA == nil {
		t.Fatalf("network: %+v", nw.Layout)
	}
	if nw.BasePort >= 32768 || !strings.HasSuffix(nw.Layout.Nodes[1].RPC, ":"+strconv.Itoa(nw.BasePort+node.PortsPerNode+1)) {
		t.Fatalf("base port %d, node 1's RPC %s", nw.BasePort, nw.Layout.Nodes[1].RPC)
	}
	c, err := node.LoadConfig(nw.Layout.Nodes[0].Home)
	if err != nil || !strings.HasPrefix(c.Comet.Moniker, "tweaked-") {
		t.Fatalf("config tweak not applied: %v %q", err, c.Comet.Moniker)
	}
	env, err := os.ReadFile("/proc/" + strconv.Itoa(nw.Process(1).PID()) + "/environ")
	if err == nil && !strings.Contains(string(env), "MYKEY_TESTNET_SELFTEST=1") {
		t.Fatal("node 1 was started without its extra environment")
	}

	// Paused, node 1 stops the chain (two validators of equal power);
	// resumed, blocks come again.
	nw.Pause(t, 1)
	time.Sleep(time.Second)
	stuck := nw.MustHeight(t, 0)
	time.Sleep(3 * time.Second)
	if h := nw.MustHeight(t, 0); h > stuck+1 {
		t.Fatalf("node 1 paused, yet node 0 went from height %d to %d", stuck, h)
	}
	nw.Resume(t, 1)
	nw.WaitHeight(t, 0, stuck+3, 30*time.Second)

	nw.Kill(t, 1)
	if nw.Process(1) != nil {
		t.Fatal("a killed node is still listed as running")
	}
	nw.Start(t, 1)
	nw.WaitHeight(t, 1, nw.MaxHeight(0, 1)+2, 30*time.Second)
	nw.Restart(t, 0)
	nw.WaitHeight(t, 0, nw.MaxHeight(0, 1)+2, 30*time.Second)
	nw.StopAll(t, 0, 1)
	if nw.Height(0) != 0 {
		t.Fatal("a stopped node answers")
	}
}
