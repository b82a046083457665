package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mykeyledger/mykey/app"
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/genesis"
)

// NewLogger returns CometBFT's logger writing to w in the configured
// format ("plain" or "json") and level (e.g. "info" or
// "consensus:info,*:error").
func NewLogger(c *cfg.Config, w io.Writer) (log.Logger, error) {
	var l log.Logger
	switch c.LogFormat {
	case cfg.LogFormatJSON:
		l = log.NewTMJSONLogger(log.NewSyncWriter(w))
	default:
		l = log.NewTMLogger(log.NewSyncWriter(w))
	}
	l, err := cmtflags.ParseLogLevel(c.LogLevel, l, cfg.DefaultLogLevel)
	if err != nil {
		return nil, fmt.Errorf("node: log_level: %w", err)
	}
	return l, nil
}

// Node is a MyKey Ledger validator or full node: CometBFT in-process with
// the app, the app metrics and the readiness endpoint.
type Node struct {
	cfg    *Config
	logger log.Logger
	app    io.Closer // the ledger, or the kvstore baseline
	comet  *cmtnode.Node
	ready  *http.Server
	readyL net.Listener
	public *publicServer
}

// ABCIKvstore names CometBFT's example key-value store application
// (abci/example/kvstore), which a node runs instead of the ledger as a
// benchmark baseline only: same CometBFT, configuration and genesis, an
// app that accepts any key=value transaction.
const ABCIKvstore = "kvstore"

// KvstoreDir is the directory, under the node's data directory, of the
// kvstore baseline's state.
const KvstoreDir = "kvstore-baseline"

// New opens the app state and sets up CometBFT from the configuration. The
// genesis file is checked first (genesis.Load), so a bad one is reported
// with every problem before anything starts. Start runs the node.
func New(ctx context.Context, c *Config, logger log.Logger) (*Node, error) {
	return newNode(ctx, c, logger, "")
}

// NewBaseline is New with another ABCI application in place of the ledger:
// abciApp "" is the ledger, ABCIKvstore CometBFT's persistent kvstore
// example (a Pebble database in <data>/kvstore-baseline, as CometBFT's
// own stores), which ignores the genesis app_state and takes the
// validators from genesis in InitChain. For benchmark baselines only.
func NewBaseline(ctx context.Context, c *Config, logger log.Logger, abciApp string) (*Node, error) {
	return newNode(ctx, c, logger, abciApp)
}

func newNode(ctx context.Context, c *Config, logger log.Logger, abciApp string) (*Node, error) {
	doc, err := genesis.Load(c.Comet.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if want := c.App.ChainID; want != "" && doc.ChainID != want {
		return nil, fmt.Errorf("node: %s is for chain %q but this node is configured for %q (mykey.chain_id in %s)",
			c.Comet.GenesisFile(), doc.ChainID, want, ConfigPath(c.Comet.RootDir))
	}
	var pk *pseudonym.Key
	if abciApp == "" {
		// Checked before CometBFT starts: a node with another key would
		// compute other MyKey IDs and fork at the first link.
		key, err := loadPseudonymKey(c, doc.AppState.PseudonymCommitment)
		if err != nil {
			return nil, err
		}
		pk = &key
	}
	nodeKey, err := p2p.LoadNodeKey(c.Comet.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: node key %s: %w (run `mykeyd init`)", c.Comet.NodeKeyFile(), err)
	}
	pv, err := loadPrivValidator(c.Comet)
	if err != nil {
		return nil, err
	}
	var (
		abciImpl abci.Application
		closer   io.Closer
	)
	switch abciApp {
	case "":
		opts, plan, err := appOptions(c)
		if err != nil {
			return nil, fmt.Errorf("node: %s: %w", ConfigPath(c.Comet.RootDir), err)
		}
		opts.PseudonymKey = pk
		logger.Info("memory budget shared out (mykey section of config.toml)", plan.LogFields()...)
		a, err := app.New(opts)
		if err != nil {
			return nil, fmt.Errorf("node: open app state %s: %w", c.AppStatePath(), err)
		}
		abciImpl, closer = a, a
		if c.Comet.Instrumentation.Prometheus {
			m, err := NewMetrics(prometheus.DefaultRegisterer, c.Comet.Instrumentation.Namespace, doc.ChainID)
			if err != nil {
				a.Close()
				return nil, fmt.Errorf("node: metrics: %w", err)
			}
			abciImpl = Instrument(a, m)
		}
	case ABCIKvstore:
		dir := filepath.Join(c.Comet.DBDir(), KvstoreDir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		kv := kvstore.NewPersistentApplication(dir)
		abciImpl, closer = kv, kv
	default:
		return nil, fmt.Errorf("node: unknown ABCI application %q (want %q)", abciApp, ABCIKvstore)
	}
	crashAt, err := crashHookFromEnv()
	if err != nil {
		closer.Close()
		return nil, err
	}
	if crashAt > 0 {
		logger.Error("crash hook armed: this node will exit after FinalizeBlock of height "+strconv.FormatInt(crashAt, 10)+" (test only)",
			"env", CrashAfterFinalizeEnv)
		abciImpl = withCrashHook(abciImpl, crashAt, logger, os.Exit)
	}
	comet, err := cmtnode.NewNode(ctx, c.Comet, pv, nodeKey,
		clientCreator(abciApp, abciImpl),
		cmtnode.DefaultGenesisDocProviderFunc(c.Comet),
		cfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(c.Comet.Instrumentation),
		logger)
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	return &Node{cfg: c, logger: logger, app: closer, comet: comet}, nil
}

// clientCreator connects CometBFT to the node's ABCI application. The
// ledger gets one mutex per ABCI connection (consensus, mempool, query,
// snapshot): it serializes everything but queries with its own lock and
// answers queries from a committed snapshot of its store without it
// (app/query.go), so a query never waits for a block being executed. The
// kvstore baseline, which has no lock of its own, gets CometBFT's default:
// one mutex over all connections.
func clientCreator(abciApp string, impl abci.Application) proxy.ClientCreator {
	if abciApp == "" {
		return proxy.NewConnSyncLocalClientCreator(impl)
	}
	return proxy.NewLocalClientCreator(impl)
}

// appOptions are the app's options from the configuration, with the
// memory plan that sized the store's caches.
func appOptions(c *Config) (app.Options, MemoryPlan, error) {
	plan, err := c.App.MemoryPlan()
	if err != nil {
		return app.Options{}, MemoryPlan{}, err
	}
	return app.Options{
		Dir:              c.AppStatePath(),
		SnapshotDir:      c.SnapshotPath(),
		SnapshotInterval: c.App.SnapshotInterval,
		SnapshotKeep:     int(c.App.SnapshotKeepRecent),
		PseudonymKeyFile: c.PseudonymKeyPath(),
		TrieCacheSize:    plan.TrieCacheMiB << 20,
		BlockCacheSize:   plan.BlockCacheMiB << 20,
		MemTableSize:     plan.MemTableMiB << 20,
	}, plan, nil
}

// loadPseudonymKey reads the node's network pseudonym key and checks it
// against the genesis commitment.
func loadPseudonymKey(c *Config, commitment []byte) (pseudonym.Key, error) {
	path := c.PseudonymKeyPath()
	key, err := pseudonym.LoadFile(path)
	if errors.Is(err, pseudonym.ErrNoKeyFile) {
		return pseudonym.Key{}, fmt.Errorf("node: %w", pseudonym.MismatchError(path, true))
	}
	if err != nil {
		return pseudonym.Key{}, fmt.Errorf("node: %w", err)
	}
	if !pseudonym.Matches(key, commitment) {
		return pseudonym.Key{}, fmt.Errorf("node: %w", pseudonym.MismatchError(path, false))
	}
	return key, nil
}

// loadValidatorKey reads the validator key file.
func loadValidatorKey(c *cfg.Config) (privval.FilePVKey, error) {
	var key privval.FilePVKey
	keyFile := c.PrivValidatorKeyFile()
	bz, err := os.ReadFile(keyFile)
	if err != nil {
		return key, fmt.Errorf("node: validator key: %w (run `mykeyd init`)", err)
	}
	if err := cmtjson.Unmarshal(bz, &key); err != nil {
		return key, fmt.Errorf("node: validator key %s: %w", keyFile, err)
	}
	if key.PrivKey == nil {
		return key, fmt.Errorf("node: validator key %s holds no private key", keyFile)
	}
	key.PubKey = key.PrivKey.PubKey()
	return key, nil
}

// loadPrivValidator loads the validator key and its last-sign state,
// returning an error where privval.LoadFilePV would exit the process.
func loadPrivValidator(c *cfg.Config) (*privval.FilePV, error) {
	key, err := loadValidatorKey(c)
	if err != nil {
		return nil, err
	}
	keyFile, stateFile := c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	bz, err := os.ReadFile(stateFile)
	if errors.Is(err, os.ErrNotExist) {
		// A key without a state file has never signed here: start from
		// an empty state (CometBFT's init does the same).
		pv := privval.NewFilePV(key.PrivKey, keyFile, stateFile)
		pv.LastSignState.Save()
		return pv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("node: validator state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(bz, &st); err != nil {
		return nil, fmt.Errorf("node: validator state %s: %w", stateFile, err)
	}
	return privval.LoadFilePV(keyFile, stateFile), nil
}

// Start starts CometBFT (which replays any blocks the app has not
// committed), the readiness endpoint and the public endpoint. After an
// error, call Stop.
func (n *Node) Start() error {
	if addr := n.cfg.App.ReadyListenAddr; addr != "" {
		hp, err := listenHostPort(addr)
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", hp)
		if err != nil {
			return fmt.Errorf("node: ready endpoint: %w", err)
		}
		srv := &http.Server{
			Handler:           readyHandler(n.status, n.cfg.App.ReadyMinPeers),
			ReadHeaderTimeout: 5 * time.Second,
		}
		n.readyL, n.ready = l, srv
		// The goroutine serves srv, not n.ready, which stopReady clears
		// (when CometBFT fails to start, possibly before it runs).
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.logger.Error("ready endpoint stopped", "err", err)
			}
		}()
	}
	if err := n.comet.Start(); err != nil {
		n.stopReady()
		return fmt.Errorf("node: start: %w", err)
	}
	// The public endpoint answers from CometBFT's stores and the app, so
	// it starts once they are.
	if addr := n.cfg.App.PublicListenAddr; addr != "" {
		if err := n.startPublic(addr); err != nil {
			return err
		}
	}
	n.logger.Info("mykeyd started", "node_id", n.comet.NodeInfo().ID(), "moniker", n.cfg.Comet.Moniker,
		"app_state", n.cfg.AppStatePath())
	return nil
}

// status reports what readiness is judged on.
func (n *Node) status() nodeStatus {
	return nodeStatus{
		CatchingUp: n.comet.ConsensusReactor().WaitSync(),
		Peers:      n.comet.Switch().Peers().Size(),
		Height:     n.comet.BlockStore().Height(),
	}
}

func (n *Node) stopReady() {
	if n.ready != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = n.ready.Shutdown(ctx)
		// Shutdown closes the listener only if Serve has started.
		_ = n.readyL.Close()
		n.ready, n.readyL = nil, nil
	}
}

// Stop stops CometBFT, then closes the app state. Safe to call once after
// Start, or instead of Start. CometBFT closes its own databases (blocks,
// state, evidence, indexes) only when a started node stops: after New
// without a successful Start, Stop releases the app state and the
// readiness port but those databases stay open until the process exits,
// so the same home cannot be opened again in this process.
func (n *Node) Stop() error {
	n.stopPublic()
	n.stopReady()
	var errs []error
	if n.comet.IsRunning() {
		if err := n.comet.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("node: stop: %w", err))
		}
		n.comet.Wait()
	}
	if err := n.app.Close(); err != nil {
		errs = append(errs, fmt.Errorf("node: close app state: %w", err))
	}
	return errors.Join(errs...)
}

// Comet returns the CometBFT node, for status and tests.
func (n *Node) Comet() *cmtnode.Node { return n.comet }

// Run starts a node from the configuration and runs it until ctx is done
// (mykeyd cancels it on SIGINT or SIGTERM), then stops it cleanly.
func Run(ctx context.Context, c *Config, logger log.Logger) error {
	return RunBaseline(ctx, c, logger, "")
}

// RunBaseline is Run with NewBaseline's choice of ABCI application.
//
// Running the ledger, it first sets the Go runtime's soft memory limit for
// the whole process from mykey.memory_limit_mib (MemoryPlan.GoMemoryLimit),
// unless GOMEMLIMIT is set in the environment; New and NewBaseline, which
// may run several nodes in one process, leave it alone.
func RunBaseline(ctx context.Context, c *Config, logger log.Logger, abciApp string) error {
	if abciApp == "" {
		plan, err := c.App.MemoryPlan()
		if err != nil {
			return fmt.Errorf("node: %s: %w", ConfigPath(c.Comet.RootDir), err)
		}
		applyMemoryLimit(plan, os.Getenv, logger)
	}
	n, err := NewBaseline(ctx, c, logger, abciApp)
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		_ = n.Stop()
		return err
	}
	<-ctx.Done()
	logger.Info("mykeyd stopping")
	if err := n.Stop(); err != nil {
		return err
	}
	logger.Info("mykeyd stopped")
	return nil
}
