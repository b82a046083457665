package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Defaults of a test network.
const (
	DefaultTestnetChainID = "mykey-localnet"
	// DefaultBasePort puts node 0's RPC on CometBFT's usual 26657.
	DefaultBasePort = 26656
	// PortsPerNode: node i uses base+10i (P2P), +1 (RPC), +2 (Prometheus),
	// +3 (readiness) and +4 (public endpoint).
	PortsPerNode = 10
	// DefaultProgram is the program of a test network's genesis: 25 % of
	// each charge, at most ¥5,000 per person.
	DefaultProgram     = "mynapoint"
	DefaultRateBP      = 2500
	DefaultCapYen      = 5000
	DefaultBudgetYen   = 10_000_000_000
	TestCardPIN        = "1234"
	validatorPower     = 10
	governmentNodeName = "government"
)

// providerIDs name the providers of a test network, node 1 first.
var providerIDs = []string{"paypay", "linepay", "rakutenpay", "aupay", "dbarai", "merpay", "famipay", "waon", "nanaco"}

// TestnetOptions configure Testnet.
type TestnetOptions struct {
	Validators int    // number of validators, at least 1; node 0 is the government's
	Output     string // directory to create (must not exist or be empty)
	ChainID    string // "" means DefaultTestnetChainID
	BasePort   int    // 0 means DefaultBasePort
	// Cards is the number of test card files to write (PIN 1234).
	Cards int
	// GovernmentKeys and GovernmentThreshold: k of n authority keys.
	GovernmentKeys, GovernmentThreshold int
	// TimeoutPropose and TimeoutCommit set every node's consensus
	// timeouts; 0 keeps CometBFT's defaults (3s and 1s).
	TimeoutPropose, TimeoutCommit time.Duration
	// SnapshotInterval and SnapshotKeep: every node's snapshot settings
	// (0: DefaultAppConfig's).
	SnapshotInterval uint64
	SnapshotKeep     uint32
	// MemoryLimitMiB is every node's memory budget (mykey.memory_limit_mib;
	// 0: TestnetMemoryLimitMiB, since the nodes share one machine). The
	// store's caches are derived from it.
	MemoryLimitMiB int64
	// GenesisTime; zero means now.
	GenesisTime time.Time
}

// Testnet writes a ready network on 127.0.0.1 under opts.Output: one home
// per node (config, keys, genesis), the government's authority keys, one
// grant key per provider, a test JPKI CA and a few test cards, and
// network.json describing it all. Node 0 is the government's, nodes 1..N-1
// are providers'.
func Testnet(opts TestnetOptions) (*netlayout.Layout, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	out, err := filepath.Abs(opts.Output)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("node: %s exists and is not empty; remove it or choose another --output", out)
	}
	for _, d := range []string{out, filepath.Join(out, "keys"), filepath.Join(out, "testca"), filepath.Join(out, "cards")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	b := &testnetBuilder{
		opts: opts,
		out:  out,
		lay: &netlayout.Layout{
			ChainID:             opts.ChainID,
			Genesis:             filepath.Join(out, "genesis.json"),
			GovernmentThreshold: opts.GovernmentThreshold,
			ProviderKeys:        map[string]string{},
			TestCA:              filepath.Join(out, "testca"),
			Programs:            []string{DefaultProgram},
		},
		st: types.GenesisState{
			Government: types.GenesisGovernment{Threshold: uint32(opts.GovernmentThreshold), Name: governmentNodeName},
		},
	}
	if err := b.governmentKeys(); err != nil {
		return nil, err
	}
	for i := range opts.Validators {
		if err := b.addNode(i); err != nil {
			return nil, err
		}
	}
	if err := b.testCA(); err != nil {
		return nil, err
	}
	// One program, open from an hour before genesis for a year.
	b.st.Programs = []types.GenesisProgram{genesis.NewProgramPercent(DefaultProgram, DefaultRateBP, DefaultCapYen, DefaultBudgetYen,
		opts.GenesisTime.Add(-time.Hour), opts.GenesisTime.AddDate(1, 0, 0))}
	if err := b.write(); err != nil {
		return nil, err
	}
	return b.lay, nil
}

// setDefaults fills the zero options and checks the rest.
func (opts *TestnetOptions) setDefaults() error {
	if opts.Validators < 1 {
		return errors.New("node: testnet needs at least 1 validator")
	}
	if opts.Validators > 1+len(providerIDs) {
		return fmt.Errorf("node: testnet supports at most %d validators", 1+len(providerIDs))
	}
	if opts.ChainID == "" {
		opts.ChainID = DefaultTestnetChainID
	}
	if opts.BasePort == 0 {
		opts.BasePort = DefaultBasePort
	}
	if last := opts.BasePort + PortsPerNode*opts.Validators; opts.BasePort < 1024 || last > 65535 {
		return fmt.Errorf("node: base port %d gives ports up to %d; use 1024..%d", opts.BasePort, last, 65535-PortsPerNode*opts.Validators)
	}
	if opts.MemoryLimitMiB == 0 {
		opts.MemoryLimitMiB = TestnetMemoryLimitMiB
	}
	if _, err := (AppConfig{MemoryLimitMiB: opts.MemoryLimitMiB}).MemoryPlan(); err != nil {
		return fmt.Errorf("node: testnet --memory-limit-mib: %w", err)
	}
	if opts.GovernmentKeys == 0 {
		opts.GovernmentKeys = 1
	}
	if opts.GovernmentThreshold == 0 {
		opts.GovernmentThreshold = 1
	}
	if opts.GovernmentThreshold > opts.GovernmentKeys {
		return fmt.Errorf("node: government threshold %d is above the %d keys", opts.GovernmentThreshold, opts.GovernmentKeys)
	}
	if opts.GenesisTime.IsZero() {
		opts.GenesisTime = time.Now()
	}
	opts.GenesisTime = opts.GenesisTime.UTC().Truncate(time.Second)
	return nil
}

// testnetBuilder holds a test network as Testnet writes it: the layout,
// the genesis app state and each node's configuration.
type testnetBuilder struct {
	opts    TestnetOptions
	out     string
	lay     *netlayout.Layout
	st      types.GenesisState
	configs []*Config
}

// governmentKeys writes the government's authority keys.
func (b *testnetBuilder) governmentKeys() error {
	for i := range b.opts.GovernmentKeys {
		k, err := keyfile.Generate(keyfile.RoleGovernment, fmt.Sprintf("government-%d", i))
		if err != nil {
			return err
		}
		path := filepath.Join(b.out, "keys", fmt.Sprintf("government-%d.json", i))
		if err := keyfile.Save(path, k); err != nil {
			return err
		}
		b.st.Government.Keys = append(b.st.Government.Keys, types.HexBytes(k.Public()))
		b.lay.GovernmentKeys = append(b.lay.GovernmentKeys, path)
	}
	return nil
}

// addNode makes node i's home (config, node key, validator key) and, for a
// provider's node, the provider's grant key, and enters both in genesis.
func (b *testnetBuilder) addNode(i int) error {
	name, role, provider := governmentNodeName, "government", ""
	if i > 0 {
		name, role, provider = providerIDs[i-1], "provider", providerIDs[i-1]
	}
	home := filepath.Join(b.out, fmt.Sprintf("node%d", i))
	// One pseudonym key for the network: node 0 generates it, the others
	// are given it.
	var pkFile string
	if i > 0 {
		pkFile = b.configs[0].PseudonymKeyPath()
	}
	res, err := InitHome(InitOptions{Home: home, ChainID: b.opts.ChainID, Moniker: name, PseudonymKey: pkFile})
	if err != nil {
		return err
	}
	b.st.PseudonymCommitment = res.PseudonymCommitment
	port := b.opts.BasePort + PortsPerNode*i
	b.configs = append(b.configs, b.tune(res.Config, port))
	b.lay.Nodes = append(b.lay.Nodes, netlayout.Node{
		Name: name, Role: role, ProviderID: provider, Home: home,
		NodeID:  string(res.NodeID),
		RPC:     fmt.Sprintf("http://127.0.0.1:%d", port+1),
		P2P:     fmt.Sprintf("%s@127.0.0.1:%d", res.NodeID, port),
		Metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", port+2),
		Ready:   fmt.Sprintf("http://127.0.0.1:%d/ready", port+3),
		Public:  fmt.Sprintf("http://127.0.0.1:%d", port+4),
	})
	if i == 0 {
		b.st.Government.ValidatorKey = res.ValidatorKey
		b.st.Government.Power = validatorPower
		b.st.Government.NodeIDs = []string{string(res.NodeID)}
		return nil
	}
	k, err := keyfile.Generate(keyfile.RoleProvider, provider)
	if err != nil {
		return err
	}
	path := filepath.Join(b.out, "keys", "provider-"+provider+".json")
	if err := keyfile.Save(path, k); err != nil {
		return err
	}
	b.lay.ProviderKeys[provider] = path
	b.st.Providers = append(b.st.Providers, types.GenesisProvider{
		ID: provider, Name: provider, GrantKey: types.HexBytes(k.Public()),
		ValidatorKey: res.ValidatorKey, Power: validatorPower,
		NodeIDs: []string{string(res.NodeID)},
	})
	return nil
}

// tune gives a node its ports (base port+0..4), the options' timeouts
// and snapshot settings, and its memory budget.
func (b *testnetBuilder) tune(c *Config, port int) *Config {
	c.Comet.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", port)
	c.Comet.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", port+1)
	c.Comet.Instrumentation.PrometheusListenAddr = fmt.Sprintf("127.0.0.1:%d", port+2)
	c.App.ReadyListenAddr = fmt.Sprintf("tcp://127.0.0.1:%d", port+3)
	c.App.PublicListenAddr = fmt.Sprintf("tcp://127.0.0.1:%d", port+4)
	c.App.ReadyMinPeers = min(1, b.opts.Validators-1)
	// Several nodes on one address, none of them routable.
	c.Comet.P2P.AllowDuplicateIP = true
	c.Comet.P2P.AddrBookStrict = false
	if b.opts.TimeoutPropose > 0 {
		c.Comet.Consensus.TimeoutPropose = b.opts.TimeoutPropose
	}
	if b.opts.TimeoutCommit > 0 {
		c.Comet.Consensus.TimeoutCommit = b.opts.TimeoutCommit
	}
	if b.opts.SnapshotInterval > 0 {
		c.App.SnapshotInterval = b.opts.SnapshotInterval
	}
	if b.opts.SnapshotKeep > 0 {
		c.App.SnapshotKeepRecent = b.opts.SnapshotKeep
	}
	c.App.MemoryLimitMiB = b.opts.MemoryLimitMiB
	return c
}

// testCA writes the test CA, which genesis trusts, and the test cards.
func (b *testnetBuilder) testCA() error {
	ca, err := testca.NewCA(testca.CAOptions{})
	if err != nil {
		return err
	}
	if err := ca.Save(b.lay.TestCA); err != nil {
		return err
	}
	b.st.TrustAnchors = []string{string(ca.CertPEM)}
	for i := range b.opts.Cards {
		card, err := ca.Issue(testca.CardOptions{})
		if err != nil {
			return err
		}
		path := filepath.Join(b.out, "cards", fmt.Sprintf("card-%d.json", i))
		if err := cardfile.Create(path, ca.CardFile(card, TestCardPIN)); err != nil {
			return err
		}
		b.lay.TestCards = append(b.lay.TestCards, path)
	}
	return nil
}

// write saves genesis (in the output directory and every home), each
// node's config.toml with every other node as a persistent peer, and
// network.json.
func (b *testnetBuilder) write() error {
	doc := &genesis.Document{ChainID: b.opts.ChainID, GenesisTime: b.opts.GenesisTime, AppState: b.st}
	if err := doc.Save(b.lay.Genesis); err != nil {
		return err
	}
	gen, err := os.ReadFile(b.lay.Genesis)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	for i, c := range b.configs {
		var peers []string
		for j, n := range b.lay.Nodes {
			if j != i {
				peers = append(peers, n.P2P)
			}
		}
		c.Comet.P2P.PersistentPeers = strings.Join(peers, ",")
		if err := c.Save(); err != nil {
			return err
		}
		if err := writeFileAtomic(c.Comet.GenesisFile(), gen, 0o644); err != nil {
			return err
		}
	}
	bz, err := json.MarshalIndent(b.lay, "", "  ")
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return writeFileAtomic(filepath.Join(b.out, netlayout.File), append(bz, '\n'), 0o644)
}
