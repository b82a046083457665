package app

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/snapshot"
	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
)

// Version is the application's protocol version, reported by Info.
const (
	Version            = "0.1.0"
	AppProtocolVersion = 1
)

var _ abci.Application = (*App)(nil)

// App is the MyKey Ledger state machine behind CometBFT's ABCI.
//
// Concurrency: every ABCI method that reads or changes the App's fields
// (Info, InitChain, CheckTx, PrepareProposal, ProcessProposal,
// FinalizeBlock, Commit and the snapshot methods) takes the App's lock, so
// they never overlap, whatever client creator CometBFT uses. Query does
// not: it reads one committed view of the store (and the P2P allowlist,
// replaced whole), so it never waits for consensus. ExtendVote and
// VerifyVoteExtension touch no state and take no lock either.
type App struct {
	mu    sync.Mutex
	store *store.Store

	// stage holds the changes of the block being executed, from InitChain
	// or FinalizeBlock until Commit writes them.
	stage       *store.Stage
	stageHeight int64

	chainID     string
	pk          *pseudonym.Key
	pkFile      string // where pk came from, for messages
	verifier    *jpki.Verifier
	sigs        *sigCache
	lastTime    time.Time // time of the last committed block
	pendingTime time.Time // time of the staged block

	snaps        *snapshot.Store // nil: this node takes no snapshots
	snapInterval uint64
	restore      *restore // the snapshot being restored by state sync

	// peers is the P2P allowlist (nodes.go); stagePeers: the staged block
	// changed it.
	peers      peers
	stagePeers bool
}

// Options configure New.
type Options struct {
	// Dir holds the Badger files of the app state. Ignored with InMemory.
	Dir      string
	InMemory bool
	// SnapshotDir holds state-sync snapshots ("" = no snapshots are
	// taken, but the node can still restore one from peers).
	SnapshotDir string
	// SnapshotInterval takes a snapshot after every block whose height is
	// a multiple of it (0 = never).
	SnapshotInterval uint64
	// SnapshotKeep is how many recent snapshots are kept (default 2).
	SnapshotKeep int
	// PseudonymKey is the network pseudonym key (app/pseudonym); it must
	// match the commitment in genesis. Required.
	PseudonymKey *pseudonym.Key
	// PseudonymKeyFile is the file the key was read from, named in the
	// message of a node whose key does not match.
	PseudonymKeyFile string
	// TrieCacheSize, BlockCacheSize and MemTableSize size the store's
	// trie bucket cache, Badger's block cache and one Badger memtable, in
	// bytes (store.Options CacheSize, BlockCacheSize, MemTableSize); 0
	// keeps the store's defaults.
	TrieCacheSize, BlockCacheSize, MemTableSize int64
}

// storeOptions are the store's options from opts.
func (opts Options) storeOptions() store.Options {
	return store.Options{
		InMemory:       opts.InMemory,
		CacheSize:      opts.TrieCacheSize,
		BlockCacheSize: opts.BlockCacheSize,
		MemTableSize:   opts.MemTableSize,
		WarmCache:      !opts.InMemory,
	}
}

// New opens the app state in opts.Dir, recovering to the last committed
// block.
func New(opts Options) (*App, error) {
	if opts.PseudonymKey == nil {
		return nil, fmt.Errorf("app: %w", pseudonym.MismatchError(keyFileName(opts.PseudonymKeyFile), true))
	}
	st, err := store.Open(opts.Dir, opts.storeOptions())
	if err != nil {
		return nil, err
	}
	pk := *opts.PseudonymKey
	a := &App{store: st, sigs: newSigCache(1 << 18), snapInterval: opts.SnapshotInterval,
		pk: &pk, pkFile: keyFileName(opts.PseudonymKeyFile)}
	if opts.SnapshotDir != "" {
		keep := opts.SnapshotKeep
		if keep == 0 {
			keep = 2
		}
		if a.snaps, err = snapshot.Open(opts.SnapshotDir, keep); err != nil {
			st.Close()
			return nil, err
		}
	}
	if st.Height() > 0 {
		if err := a.loadChain(st); err != nil {
			st.Close()
			return nil, err
		}
		if err := a.reloadPeers(); err != nil {
			st.Close()
			return nil, err
		}
	}
	return a, nil
}

// Close releases the store.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stage != nil {
		a.stage.Discard()
		a.stage = nil
	}
	return a.store.Close()
}

// certCacheSize is how many verified card certificates a node remembers
// (a few KB each): more than the links of the blocks its mempool holds, so
// a certificate checked by CheckTx is not verified again by FinalizeBlock.
const certCacheSize = 1 << 15

// loadChain reads the chain ID, trust anchors and last block time from r.
func (a *App) loadChain(r reader) error {
	gs, err := getGov(r)
	if err != nil {
		return err
	}
	anchors, err := parseDERs(gs.TrustAnchors)
	if err != nil {
		return err
	}
	v, err := jpki.NewVerifierWithCache(anchors, certCacheSize)
	if err != nil {
		return fmt.Errorf("app: trust anchors in state: %w", err)
	}
	if err := a.checkPseudonymKey(gs.PseudonymCommitment); err != nil {
		return err
	}
	t, err := loadUint(r, []byte(types.PrefixBlockTime))
	if err != nil {
		return err
	}
	a.chainID, a.verifier, a.lastTime = gs.ChainId, v, time.Unix(0, int64(t)).UTC()
	return nil
}

// Info is called by CometBFT at startup (the handshake) to learn the last
// committed height and app hash; it replays any blocks after them.
func (a *App) Info(_ context.Context, _ *abci.InfoRequest) (*abci.InfoResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := &abci.InfoResponse{
		Data:            "mykey",
		Version:         Version,
		AppVersion:      AppProtocolVersion,
		LastBlockHeight: a.store.Height(),
	}
	if res.LastBlockHeight > 0 {
		res.LastBlockAppHash = a.store.AppHash()
	}
	return res, nil
}

// InitChain is called once, before the first block, with the genesis
// document's app state. Its writes are committed with the first block.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store.Height() > 0 {
		return nil, fmt.Errorf("app: InitChain on a chain already at height %d", a.store.Height())
	}
	gen, err := types.DecodeGenesisState(req.AppStateBytes)
	if err != nil {
		return nil, fmt.Errorf("app: genesis app state: %w", err)
	}
	if err := a.checkPseudonymKey(gen.PseudonymCommitment); err != nil {
		return nil, err
	}
	if a.stage != nil {
		a.stage.Discard()
	}
	a.stage = a.store.Stage()
	c := newCache(a.stage)
	if err := initState(c, req.ChainId, gen, req.Validators); err != nil {
		return nil, err
	}
	setBlockTime(c, req.Time)
	if err := c.flush(a.stage); err != nil {
		return nil, err
	}
	if err := a.loadChain(c); err != nil {
		return nil, err
	}
	a.peers.set(genesisPeers(gen))
	root, err := a.stage.Root()
	if err != nil {
		return nil, err
	}
	a.stageHeight = req.InitialHeight - 1
	return &abci.InitChainResponse{AppHash: root}, nil
}

// CheckTx is called by the mempool for every new transaction and again
// (Recheck) after each block. A new transaction gets the stateless checks,
// then the state rules against the last committed state in a cache that is
// thrown away. A Recheck runs the stateless checks only.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier == nil {
		return &abci.CheckTxResponse{Code: types.ErrInternal.Code, Codespace: types.Codespace, Log: "chain not initialised"}, nil
	}
	if req.Type == abci.CHECK_TX_TYPE_RECHECK {
		// After a block, a transaction already in the mempool is dropped
		// only if it became invalid whatever the state (expired, say). A
		// claim that now conflicts with a committed one stays, so it is
		// judged in FinalizeBlock and its rejection is on the ledger.
		if _, err := a.staticCheck(req.Tx, a.chainID, a.lastTime); err != nil {
			code, log := types.ABCIInfo(err)
			return &abci.CheckTxResponse{Code: code, Codespace: types.Codespace, Log: log}, nil
		}
		return &abci.CheckTxResponse{}, nil
	}
	if a.store.Height() == 0 {
		// InitChain's state is staged, not committed, until the first
		// block: there is no state to judge against yet.
		return &abci.CheckTxResponse{Code: types.ErrNotReady.Code, Codespace: types.Codespace, Log: types.ErrNotReady.Msg}, nil
	}
	x := &exec{app: a, c: newCache(a.store), height: a.store.Height() + 1, time: a.lastTime, chainID: a.chainID}
	res, err := x.deliver(req.Tx)
	if err != nil {
		return nil, err
	}
	return &abci.CheckTxResponse{Code: res.Code, Codespace: res.Codespace, Log: res.Log, Events: res.Events}, nil
}

// PrepareProposal is called on the proposer to build a block from mempool
// transactions. It drops transactions invalid whatever the state, keeps
// conflicting claims (each is judged, and rejected with its code, in
// FinalizeBlock), and stays within MaxTxBytes as CometBFT counts it.
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var (
		out  [][]byte
		size int64
	)
	a.preverify(req.Txs, a.chainID, req.Time)
	for _, tx := range req.Txs {
		if _, err := a.staticCheck(tx, a.chainID, req.Time); err != nil {
			continue
		}
		n := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{tx})
		if size+n > req.MaxTxBytes {
			continue
		}
		size += n
		out = append(out, tx)
	}
	return &abci.PrepareProposalResponse{Txs: out}, nil
}

// ProcessProposal is called on every validator for a proposed block; it
// rejects a block that holds a transaction invalid whatever the state.
func (a *App) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.preverify(req.Txs, a.chainID, req.Time)
	for _, tx := range req.Txs {
		if _, err := a.staticCheck(tx, a.chainID, req.Time); err != nil {
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// FinalizeBlock executes a decided block: one result per transaction, in
// order, staged in memory. Nothing is written until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier == nil {
		return nil, errors.New("app: FinalizeBlock before InitChain")
	}
	if a.stage == nil {
		a.stage = a.store.Stage()
	} else if a.stageHeight >= req.Height {
		// A block executed but not committed is being executed again
		// (the node restarted between FinalizeBlock and Commit): start over.
		a.stage.Discard()
		a.stage = a.store.Stage()
	}
	a.preverify(req.Txs, a.chainID, req.Time)
	c := newCache(a.stage)
	x := &exec{app: a, c: c, height: req.Height, time: req.Time.UTC(), chainID: a.chainID}
	res := &abci.FinalizeBlockResponse{TxResults: make([]*abci.ExecTxResult, len(req.Txs))}
	for i, tx := range req.Txs {
		r, err := x.deliver(tx)
		if err != nil {
			return nil, fmt.Errorf("app: block %d tx %d: %w", req.Height, i, err)
		}
		res.TxResults[i] = r
	}
	a.stagePeers = x.nodesChanged
	valUpdates, err := x.vals.finish(c)
	if err != nil {
		return nil, err
	}
	setBlockTime(c, req.Time)
	if err := c.flush(a.stage); err != nil {
		return nil, err
	}
	root, err := a.stage.Root()
	if err != nil {
		return nil, err
	}
	a.stageHeight = req.Height
	a.pendingTime = req.Time.UTC()
	res.AppHash = root
	res.ValidatorUpdates = valUpdates
	return res, nil
}

// Commit makes the block's changes durable together with its height and
// app hash: one atomic Badger transaction, or for a block too big for one
// the store's redo log, whose marker transaction is the commit point
// (app/store). CometBFT calls it after FinalizeBlock and after saving the
// block, so a crash before it replays the block. After the block is
// committed, Commit reloads the P2P allowlist if the block changed it and
// writes a state-sync snapshot when the height is due; neither changes the
// state or the app hash.
func (a *App) Commit(_ context.Context, _ *abci.CommitRequest) (*abci.CommitResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stage == nil {
		return nil, errors.New("app: Commit without FinalizeBlock")
	}
	if err := a.store.Commit(a.stage, a.stageHeight); err != nil {
		return nil, err
	}
	a.stage = nil
	a.lastTime = a.pendingTime
	if a.stagePeers {
		a.stagePeers = false
		if err := a.reloadPeers(); err != nil {
			return nil, err
		}
	}
	if err := a.maybeSnapshot(); err != nil {
		return nil, err
	}
	return &abci.CommitResponse{}, nil
}

// ExtendVote: MyKey Ledger uses no vote extensions.
func (a *App) ExtendVote(context.Context, *abci.ExtendVoteRequest) (*abci.ExtendVoteResponse, error) {
	return &abci.ExtendVoteResponse{}, nil
}

// VerifyVoteExtension accepts only the empty extension ExtendVote makes.
func (a *App) VerifyVoteExtension(_ context.Context, req *abci.VerifyVoteExtensionRequest) (*abci.VerifyVoteExtensionResponse, error) {
	if len(req.VoteExtension) != 0 {
		return &abci.VerifyVoteExtensionResponse{Status: abci.VERIFY_VOTE_EXTENSION_STATUS_REJECT}, nil
	}
	return &abci.VerifyVoteExtensionResponse{Status: abci.VERIFY_VOTE_EXTENSION_STATUS_ACCEPT}, nil
}

// initState writes the genesis app state, which DecodeGenesisState has
// validated: the state's rules are GenesisState.Validate's, the same that
// genesis validation applies, so a state it accepts is one InitChain
// accepts. CometBFT's genesis validators, when given, must be the ones the
// app state names: the ledger checks every later power change against that
// set.
func initState(c *cache, chainID string, gen *types.GenesisState, cometVals []abci.ValidatorUpdate) error {
	anchors, err := gen.Anchors()
	if err != nil {
		return err
	}
	gs := &types.GovState{NextSequence: 1, Threshold: gen.Government.Threshold, ChainId: chainID,
		ValidatorKey: gen.Government.ValidatorKey, Power: gen.Government.Power,
		PseudonymCommitment: gen.PseudonymCommitment}
	for _, k := range gen.Government.Keys {
		gs.Keys = append(gs.Keys, k)
	}
	for _, cert := range anchors {
		gs.TrustAnchors = append(gs.TrustAnchors, cert.Raw)
	}
	if err := save(c, types.KeyGov(), gs, 0); err != nil {
		return err
	}
	x := &exec{c: c}
	var providers []*types.Provider
	if len(gs.ValidatorKey) > 0 {
		if err := x.claimValidatorKey(c, gs.ValidatorKey, "government"); err != nil {
			return fmt.Errorf("app: genesis: %w", err)
		}
	}
	for _, gp := range gen.Providers {
		p := gp.Proto()
		if len(p.ValidatorKey) > 0 {
			if err := x.claimValidatorKey(c, p.ValidatorKey, p.Id); err != nil {
				return fmt.Errorf("app: genesis: %w", err)
			}
		}
		if err := save(c, types.KeyProvider(p.Id), p, 0); err != nil {
			return err
		}
		providers = append(providers, p)
	}
	vals, err := genesisValidators(gs, providers)
	if err != nil {
		return fmt.Errorf("app: genesis validators: %w", err)
	}
	if len(cometVals) > 0 {
		want, err := applyUpdates(&types.ValidatorSet{}, cometVals)
		if err != nil {
			return fmt.Errorf("app: genesis.json validators: %w", err)
		}
		if !sameValidators(want, vals) {
			return fmt.Errorf("app: genesis.json validators differ from those the app state names (government and providers with validator_key and power)")
		}
	}
	if err := save(c, types.KeyValidators(), vals, 0); err != nil {
		return err
	}
	if err := initNodes(c, gen); err != nil {
		return err
	}
	for _, gp := range gen.Programs {
		p, err := gp.Proto()
		if err != nil {
			return fmt.Errorf("app: genesis program %q: %w", gp.ID, err)
		}
		if err := save(c, types.KeyProgram(p.Id), p, 0); err != nil {
			return err
		}
		if err := save(c, types.KeyProgramTotals(p.Id), &types.ProgramTotals{}, 0); err != nil {
			return err
		}
	}
	return nil
}

// checkPseudonymKey refuses to run with a pseudonym key other than the one
// the network's genesis commits to: its certificate indexes and MyKey IDs
// would differ from every other node's, and it would fork at the first
// link.
func (a *App) checkPseudonymKey(commitment []byte) error {
	if len(commitment) == 0 {
		return fmt.Errorf("app: the state holds no pseudonym commitment: genesis must set pseudonym_commitment")
	}
	if !pseudonym.Matches(*a.pk, commitment) {
		return fmt.Errorf("app: %w", pseudonym.MismatchError(a.pkFile, false))
	}
	return nil
}

func keyFileName(f string) string {
	if f == "" {
		return "the node's pseudonym key file"
	}
	return f
}

// setBlockTime records the block's time (meta/blocktime, Unix nanoseconds),
// at which CheckTx judges after a restart.
func setBlockTime(c *cache, t time.Time) {
	var bt [8]byte
	binary.BigEndian.PutUint64(bt[:], uint64(t.UnixNano()))
	c.Set([]byte(types.PrefixBlockTime), bt[:], 0)
}
