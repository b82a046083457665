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
// to nodes: the layout and keys it returns, extra environment of a node,
// a kill and a start, and clean stops of one and of both at once.
func TestNetwork(t *testing.T) {
	nw := Start(t, Options{Validators: 2, Cards: 1, GovernmentKeys: 3, GovernmentThreshold: 2, NoStart: true})
	if len(nw.Layout.Nodes) != 2 || len(nw.RPC) != 2 || len(nw.GovKeys) != 3 || nw.Layout.GovernmentThreshold != 2 ||
		len(nw.Layout.TestCards) != 1 || nw.ProviderKeys["paypay"] == nil || nw.CA == nil {
		t.Fatalf("network: %+v", nw.Layout)
	}
	if nw.BasePort >= 32768 || !strings.HasSuffix(nw.Layout.Nodes[1].RPC, ":"+strconv.Itoa(nw.BasePort+node.PortsPerNode+1)) {
		t.Fatalf("base port %d, node 1's RPC %s", nw.BasePort, nw.Layout.Nodes[1].RPC)
	}
	nw.Start(t, 1, "MYKEY_TESTNET_SELFTEST=1")
	nw.StartAll(t)
	env, err := os.ReadFile("/proc/" + strconv.Itoa(nw.Process(1).PID()) + "/environ")
	if err == nil && !strings.Contains(string(env), "MYKEY_TESTNET_SELFTEST=1") {
		t.Fatal("node 1 was started without its extra environment")
	}

	nw.Kill(t, 1)
	if nw.Process(1) != nil {
		t.Fatal("a killed node is still listed as running")
	}
	stuck := nw.MustHeight(t, 0)
	time.Sleep(2 * time.Second)
	if h := nw.MustHeight(t, 0); h > stuck+1 {
		t.Fatalf("one of two validators killed, yet node 0 went from height %d to %d", stuck, h)
	}
	nw.Start(t, 1)
	nw.WaitHeight(t, 1, nw.MaxHeight(0, 1)+2, 30*time.Second)
	nw.Stop(t, 0)
	nw.Start(t, 0)
	nw.WaitHeight(t, 0, nw.MaxHeight(0, 1)+2, 30*time.Second)
	nw.StopAll(t, 0, 1)
	if nw.Height(0) != 0 {
		t.Fatal("a stopped node answers")
	}
}
