package node

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
)

// TestTestnet checks what `mykeyd testnet` writes: homes whose configs load,
// distinct loopback ports, peers, one genesis everywhere whose validators
// are the nodes' keys, and usable key, CA and card files.
func TestTestnet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "net")
	gt := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	lay, err := Testnet(TestnetOptions{Validators: 3, Output: out, BasePort: 40000, Cards: 2,
		GovernmentKeys: 3, GovernmentThreshold: 2, TimeoutCommit: 300 * time.Millisecond, GenesisTime: gt})
	if err != nil {
		t.Fatal(err)
	}
	again, err := netlayout.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if again.ChainID != lay.ChainID || len(again.Nodes) != 3 {
		t.Fatalf("network.json: %+v", again)
	}
	doc, err := genesis.Load(lay.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	vals := genesis.Validators(&doc.AppState)
	if len(vals) != 3 || doc.AppState.Government.Threshold != 2 || len(doc.AppState.Government.Keys) != 3 {
		t.Fatalf("genesis: %d validators, %d of %d government keys", len(vals), doc.AppState.Government.Threshold, len(doc.AppState.Government.Keys))
	}
	if p := doc.AppState.Programs; len(p) != 1 || p[0].ID != DefaultProgram || p[0].RateBP != 2500 || p[0].CapYen != 5000 ||
		!p[0].LinkStart.Before(gt) || !p[0].LinkEnd.After(gt.AddDate(0, 11, 0)) {
		t.Fatalf("genesis programs: %+v", p)
	}
	gen, _ := os.ReadFile(lay.Genesis)
	ports := map[string]bool{}
	for i, n := range lay.Nodes {
		c, err := LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{c.Comet.P2P.ListenAddress, c.Comet.RPC.ListenAddress, c.Comet.Instrumentation.PrometheusListenAddr, c.App.ReadyListenAddr} {
			if !strings.Contains(a, "127.0.0.1:") || ports[a] {
				t.Fatalf("node %d: address %q not loopback or not distinct", i, a)
			}
			ports[a] = true
		}
		if c.Comet.Consensus.TimeoutCommit != 300*time.Millisecond || c.App.ChainID != lay.ChainID {
			t.Fatalf("node %d: config %+v", i, c.App)
		}
		// The nodes share a machine: each gets the smaller budget.
		if c.App.MemoryLimitMiB != TestnetMemoryLimitMiB || c.App.MemoryLimitMiB >= DefaultMemoryLimitMiB {
			t.Fatalf("node %d: memory_limit_mib = %d, want %d", i, c.App.MemoryLimitMiB, TestnetMemoryLimitMiB)
		}
		// Peers are filtered by the ledger, which registers each node
		// under its owner.
		owner := doc.AppState.Government.NodeIDs
		if i > 0 {
			owner = doc.AppState.Providers[i-1].NodeIDs
		}
		if !c.Comet.FilterPeers || len(owner) != 1 || owner[0] != n.NodeID {
			t.Fatalf("node %d (%s): filter_peers %v, genesis node_ids %v", i, n.NodeID, c.Comet.FilterPeers, owner)
		}
		if got := strings.Count(c.Comet.P2P.PersistentPeers, "@"); got != 2 || strings.Contains(c.Comet.P2P.PersistentPeers, n.NodeID) {
			t.Fatalf("node %d: peers %q", i, c.Comet.P2P.PersistentPeers)
		}
		if own, _ := os.ReadFile(c.Comet.GenesisFile()); !bytes.Equal(own, gen) {
			t.Fatalf("node %d: genesis differs", i)
		}
		pub, err := ValidatorPubKey(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pub.Bytes(), vals[i].PubKey.Bytes()) {
			t.Fatalf("node %d: validator key is not genesis validator %d", i, i)
		}
		// Every node holds the one network pseudonym key, in a file only
		// its owner reads, and genesis commits to it.
		pk, err := pseudonym.LoadFile(c.PseudonymKeyPath())
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if !pseudonym.Matches(pk, doc.AppState.PseudonymCommitment) {
			t.Fatalf("node %d: pseudonym key is not the one genesis commits to", i)
		}
		if fi, err := os.Stat(c.PseudonymKeyPath()); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("node %d: pseudonym key file mode %v %v", i, fi.Mode(), err)
		}
	}
	if bytes.Contains(gen, []byte("pseudonym_key")) {
		t.Fatal("genesis names the pseudonym key file")
	}
	for id, path := range lay.ProviderKeys {
		k, err := keyfile.Load(path)
		if err != nil || k.ID != id {
			t.Fatalf("provider key %s: %v", id, err)
		}
	}
	for _, path := range lay.TestCards {
		c, err := cardfile.Load(path)
		if err != nil || c.PIN != TestCardPIN {
			t.Fatalf("card %s: %v", path, err)
		}
	}
	ca, err := testca.Load(lay.TestCA)
	if err != nil {
		t.Fatal(err)
	}
	if anchors, _ := doc.AppState.Anchors(); len(anchors) != 1 || !anchors[0].Equal(ca.Cert) {
		t.Fatal("genesis does not trust the test CA")
	}
	if _, err := Testnet(TestnetOptions{Validators: 1, Output: out}); err == nil {
		t.Fatal("Testnet wrote over an existing network")
	}
}

// TestInitTwice: a second init keeps the keys and installs the genesis and
// the peers; a genesis of another chain is refused.
func TestInitTwice(t *testing.T) {
	dir := t.TempDir()
	lay, err := Testnet(TestnetOptions{Validators: 1, Output: filepath.Join(dir, "net"), BasePort: 41000, ChainID: "chain-a"})
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	netKey := filepath.Join(lay.Nodes[0].Home, DefaultPseudonymKeyFile)
	first, err := InitHome(InitOptions{Home: home, ChainID: "chain-a", Moniker: "x", PseudonymKey: netKey})
	if err != nil {
		t.Fatal(err)
	}
	if toml, err := os.ReadFile(ConfigPath(home)); err != nil || !strings.Contains(string(toml), "filter_peers = true") {
		t.Fatalf("init's config.toml does not filter peers by the ledger (%v)", err)
	}
	second, err := InitHome(InitOptions{Home: home, ChainID: "chain-a", Genesis: lay.Genesis, Peers: "abc@127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if first.NodeID != second.NodeID || !bytes.Equal(first.ValidatorKey, second.ValidatorKey) {
		t.Fatal("second init changed the keys")
	}
	if len(second.Created) != 1 || second.Created[0] != second.Config.Comet.GenesisFile() {
		t.Fatalf("second init created %v, want only the genesis", second.Created)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Comet.P2P.PersistentPeers != "abc@127.0.0.1:1" || c.Comet.Moniker != "x" {
		t.Fatalf("peers %q moniker %q", c.Comet.P2P.PersistentPeers, c.Comet.Moniker)
	}
	if _, err := InitHome(InitOptions{Home: filepath.Join(dir, "other"), ChainID: "chain-b", Genesis: lay.Genesis}); err == nil ||
		!strings.Contains(err.Error(), "chain-a") {
		t.Fatalf("genesis of another chain: %v", err)
	}
	// A home whose init made a key of its own (a new network's first node)
	// refuses this network's genesis, naming the key file.
	own := filepath.Join(dir, "own")
	if _, err := InitHome(InitOptions{Home: own, ChainID: "chain-a"}); err != nil {
		t.Fatal(err)
	}
	_, err = InitHome(InitOptions{Home: own, ChainID: "chain-a", Genesis: lay.Genesis})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(own, DefaultPseudonymKeyFile)) || !strings.Contains(err.Error(), "does not match the network's commitment") {
		t.Fatalf("genesis of a network with another pseudonym key: %v", err)
	}
	// A joining node given no key gets none (no one can generate the
	// network's), and is told where to put it.
	join, err := InitHome(InitOptions{Home: filepath.Join(dir, "join"), ChainID: "chain-a", Genesis: lay.Genesis})
	if err != nil || join.PseudonymCommitment != nil {
		t.Fatalf("joining node: %v, commitment %x", err, join.PseudonymCommitment)
	}
}

// TestTestnetMemoryLimit: --memory-limit-mib reaches every node's
// config.toml, and a budget too small is refused before anything is
// written.
func TestTestnetMemoryLimit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "net")
	lay, err := Testnet(TestnetOptions{Validators: 2, Output: out, BasePort: 40100, MemoryLimitMiB: 768})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range lay.Nodes {
		c, err := LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		if c.App.MemoryLimitMiB != 768 {
			t.Errorf("node %d: memory_limit_mib = %d, want 768", i, c.App.MemoryLimitMiB)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad")
	_, err = Testnet(TestnetOptions{Validators: 1, Output: bad, BasePort: 40200, MemoryLimitMiB: 100})
	if err == nil || !strings.Contains(err.Error(), "memory-limit-mib") || !strings.Contains(err.Error(), "memory_limit_mib = 100 is below the minimum of 512") {
		t.Fatalf("a 100 MiB budget: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("%s was created for a refused budget (%v)", bad, err)
	}
}
