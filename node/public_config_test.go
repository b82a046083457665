package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testnet/freeport"
)

// TestPublicConfig: `mykeyd init` puts the full RPC and the public
// endpoint on loopback, on ports of their own; public_laddr survives
// config.toml, "" disables it, and a malformed one is refused.
func TestPublicConfig(t *testing.T) {
	c := DefaultConfig(t.TempDir())
	for name, addr := range map[string]string{"rpc.laddr": c.Comet.RPC.ListenAddress, "mykey.public_laddr": c.App.PublicListenAddr} {
		hp, err := listenHostPort(addr)
		if err != nil {
			t.Fatalf("%s %q: %v", name, addr, err)
		}
		host, _, _ := net.SplitHostPort(hp)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("default %s %q is not on loopback", name, addr)
		}
	}
	ports := map[string]bool{}
	for _, a := range []string{c.Comet.RPC.ListenAddress, c.App.PublicListenAddr, c.App.ReadyListenAddr, c.Comet.Instrumentation.PrometheusListenAddr} {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(a, "tcp://"))
		if ports[port] {
			t.Errorf("default port %s is used twice", port)
		}
		ports[port] = true
	}

	for _, addr := range []string{"tcp://127.0.0.1:12345", ""} {
		home := t.TempDir()
		c := DefaultConfig(home)
		c.App.ChainID = "x"
		c.App.PublicListenAddr = addr
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		got, err := LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		if got.App.PublicListenAddr != addr {
			t.Errorf("public_laddr %q read back as %q", addr, got.App.PublicListenAddr)
		}
	}
	c.App.PublicListenAddr = "127.0.0.1"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "public_laddr") {
		t.Errorf("public_laddr without a port: %v", err)
	}

	res, err := InitHome(InitOptions{Home: t.TempDir(), ChainID: "x", PublicListen: "tcp://127.0.0.1:23456"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.App.PublicListenAddr != "tcp://127.0.0.1:23456" {
		t.Errorf("init --public-laddr: %q", res.Config.App.PublicListenAddr)
	}
}

// TestTestnetPublic: each node of a test network has its public endpoint
// next to its other ports, in config.toml and network.json.
func TestTestnetPublic(t *testing.T) {
	base := freeport.Base(t, 2, PortsPerNode)
	lay, err := Testnet(TestnetOptions{Validators: 2, Output: filepath.Join(t.TempDir(), "net"), BasePort: base})
	if err != nil {
		t.Fatal(err)
	}
	again, err := netlayout.Load(filepath.Dir(lay.Genesis))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range again.Nodes {
		port := base + PortsPerNode*i + 4
		if want := fmt.Sprintf("http://127.0.0.1:%d", port); n.Public != want {
			t.Errorf("node %d: network.json public %q, want %q", i, n.Public, want)
		}
		c, err := LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("tcp://127.0.0.1:%d", port); c.App.PublicListenAddr != want {
			t.Errorf("node %d: public_laddr %q, want %q", i, c.App.PublicListenAddr, want)
		}
		if !strings.HasPrefix(c.Comet.RPC.ListenAddress, "tcp://127.0.0.1:") {
			t.Errorf("node %d: rpc.laddr %q is not on loopback", i, c.Comet.RPC.ListenAddress)
		}
	}
}

// TestPublicStartStop: a started node serves its public endpoint (a public
// route answers, an excluded one is not found), Stop frees its port, and
// public_laddr "" serves nothing.
func TestPublicStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node; skipped with -short")
	}
	freshDefaultRegistry(t)

	for _, disabled := range []bool{false, true} {
		// A network each: a home is opened once per process.
		lay, c := oneNodeNet(t, time.Second, 200*time.Millisecond)
		pub := lay.Nodes[0].Public
		get := func(route string) int {
			resp, err := http.Get(pub + "/" + route)
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		c.Comet.Instrumentation.Prometheus = false
		if disabled {
			c.App.PublicListenAddr = ""
		}
		n, err := New(context.Background(), c, log.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(); err != nil {
			_ = n.Stop()
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "block 2", func() bool { return n.Comet().BlockStore().Height() >= 2 })
		health, block := get("health"), get("block?height=1")
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
		switch {
		case disabled && health != 0:
			t.Errorf("public_laddr \"\": the public address answers (HTTP %d)", health)
		case !disabled && (health != http.StatusOK || block != http.StatusNotFound):
			t.Errorf("public endpoint: health HTTP %d (want 200), block HTTP %d (want 404)", health, block)
		}
		l, err := net.Listen("tcp", strings.TrimPrefix(pub, "http://"))
		if err != nil {
			t.Fatalf("public port still held after Stop: %v", err)
		}
		l.Close()
	}
}
