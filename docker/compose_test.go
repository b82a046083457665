package docker

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/node"
)

func testnet(t *testing.T) (string, *netlayout.Layout) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "net")
	lay, err := node.Testnet(node.TestnetOptions{Validators: 4, Output: dir, ChainID: "mykey-docker-test"})
	if err != nil {
		t.Fatal(err)
	}
	return dir, lay
}

func options() Options {
	return Options{
		Project: "mykey-test", Image: "mykeyd:test",
		P2PSubnet: netip.MustParsePrefix("10.213.0.0/24"), APISubnet: netip.MustParsePrefix("10.213.1.0/24"),
		User: "1000:1000", TimeoutPropose: time.Second, TimeoutVote: 400 * time.Millisecond, TimeoutCommit: 200 * time.Millisecond,
	}
}

func TestGenerate(t *testing.T) {
	dir, lay := testnet(t)
	opts := options()
	opts.Tune = func(i int, c *node.Config) { c.Comet.Moniker = "tuned" }
	nw, err := Generate(dir, lay, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(nw.Nodes) != 4 {
		t.Fatalf("%d nodes", len(nw.Nodes))
	}
	for i, n := range nw.Nodes {
		c, err := node.LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		p := c.Comet.P2P
		if p.ListenAddress != "tcp://0.0.0.0:26656" || c.Comet.RPC.ListenAddress != "tcp://0.0.0.0:26657" ||
			c.Comet.Instrumentation.PrometheusListenAddr != "0.0.0.0:26660" || c.App.ReadyListenAddr != "tcp://0.0.0.0:26680" ||
			c.App.PublicListenAddr != "tcp://0.0.0.0:26670" {
			t.Errorf("node %d listens on p2p %s, rpc %s, metrics %s, ready %s, public %s", i, p.ListenAddress, c.Comet.RPC.ListenAddress,
				c.Comet.Instrumentation.PrometheusListenAddr, c.App.ReadyListenAddr, c.App.PublicListenAddr)
		}
		if want := "http://" + n.APIIP + ":26670"; n.Public != want {
			t.Errorf("node %d public endpoint %s, want %s", i, n.Public, want)
		}
		if p.PexReactor || p.AllowDuplicateIP || p.AddrBookStrict {
			t.Errorf("node %d: pex %v, allow_duplicate_ip %v, addr_book_strict %v", i, p.PexReactor, p.AllowDuplicateIP, p.AddrBookStrict)
		}
		// The containers' peers are admitted by the node IDs genesis
		// registers, which the rewrite leaves as they are.
		if !c.Comet.FilterPeers {
			t.Errorf("node %d does not filter peers", i)
		}
		peers := strings.Split(p.PersistentPeers, ",")
		if len(peers) != 3 {
			t.Errorf("node %d has peers %q", i, p.PersistentPeers)
		}
		for _, peer := range peers {
			if !strings.HasPrefix(strings.SplitN(peer, "@", 2)[1], "10.213.0.") || strings.Contains(peer, n.P2PIP) {
				t.Errorf("node %d: peer %s is not another node on the p2p network", i, peer)
			}
		}
		if c.Comet.Consensus.TimeoutPropose != time.Second || c.Comet.Consensus.TimeoutPrevote != 400*time.Millisecond ||
			c.Comet.Consensus.TimeoutCommit != 200*time.Millisecond {
			t.Errorf("node %d: consensus timeouts not set: %+v", i, c.Comet.Consensus)
		}
		if c.App.ChainID != "mykey-docker-test" || c.Comet.Moniker != "tuned" {
			t.Errorf("node %d: chain %q, moniker %q", i, c.App.ChainID, c.Comet.Moniker)
		}
		if want := "10.213.1." + []string{"10", "11", "12", "13"}[i]; n.APIIP != want || n.RPC != "http://"+want+":26657" {
			t.Errorf("node %d: api ip %s, rpc %s", i, n.APIIP, n.RPC)
		}
	}
	bz, err := os.ReadFile(filepath.Join(dir, ComposeFile))
	if err != nil {
		t.Fatal(err)
	}
	compose := string(bz)
	for _, want := range []string{
		`container_name: "mykey-test-node3"`, `- "./node2:/mykey"`, `ipv4_address: "10.213.0.11"`,
		`name: "mykey-test-p2p"`, `subnet: "10.213.1.0/24"`, `user: "1000:1000"`, `image: "mykeyd:test"`, "internal: true",
	} {
		if !strings.Contains(compose, want) {
			t.Errorf("compose file lacks %s:\n%s", want, compose)
		}
	}
	back, err := LoadNetwork(dir)
	if err != nil || back.Nodes[2].P2PIP != "10.213.0.12" {
		t.Fatalf("LoadNetwork: %v %+v", err, back)
	}
}

func TestGenerateRefuses(t *testing.T) {
	dir, lay := testnet(t)
	for name, mutate := range map[string]func(*Options){
		"bad project":   func(o *Options) { o.Project = "My Project" },
		"no image":      func(o *Options) { o.Image = "" },
		"ipv6 subnet":   func(o *Options) { o.P2PSubnet = netip.MustParsePrefix("fd00::/64") },
		"host bits set": func(o *Options) { o.P2PSubnet = netip.MustParsePrefix("10.213.0.5/24") },
		"overlapping":   func(o *Options) { o.APISubnet = netip.MustParsePrefix("10.213.0.0/16") },
		"too small":     func(o *Options) { o.APISubnet = netip.MustParsePrefix("10.213.1.0/29") },
	} {
		opts := options()
		mutate(&opts)
		if _, err := Generate(dir, lay, opts); err == nil {
			t.Errorf("%s: Generate accepted %+v", name, opts)
		}
	}
}
