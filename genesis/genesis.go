package genesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/mykeyledger/mykey/app/types"
)

// Document is a network's genesis: CometBFT's genesis.json with our typed
// app state. Its validators are derived from the app state.
type Document struct {
	ChainID     string
	GenesisTime time.Time
	// InitialHeight is the first block's height; 0 means 1.
	InitialHeight int64
	// ConsensusParams are CometBFT's consensus parameters (block max bytes
	// etc.); nil means cmttypes.DefaultConsensusParams(). Save writes them
	// out in full, so Load always returns them set.
	ConsensusParams *cmttypes.ConsensusParams
	AppState        types.GenesisState
}

// Validators returns the CometBFT validators derived from the app state:
// the government's validator first (if it has a validator key and power >
// 0), then each such provider in order, named by provider ID. It does not
// validate; see Validate.
func Validators(a *types.GenesisState) []cmttypes.GenesisValidator {
	var vals []cmttypes.GenesisValidator
	add := func(key types.HexBytes, power int64, name string) {
		if len(key) == 0 || power <= 0 {
			return
		}
		pub := ed25519.PubKey(append([]byte(nil), key...))
		vals = append(vals, cmttypes.GenesisValidator{
			Address: pub.Address(),
			PubKey:  pub,
			Power:   power,
			Name:    name,
		})
	}
	add(a.Government.ValidatorKey, a.Government.Power, a.Government.Name)
	for _, p := range a.Providers {
		add(p.ValidatorKey, p.Power, p.ID)
	}
	return vals
}

// CometGenesis validates the document and returns CometBFT's genesis doc:
// validators derived from the app state, consensus params filled in
// (defaults when nil), app_state our JSON, and ValidateAndComplete passed.
func (d *Document) CometGenesis() (*cmttypes.GenesisDoc, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	appState, err := json.MarshalIndent(&d.AppState, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("genesis: encode app_state: %w", err)
	}
	params := cmttypes.DefaultConsensusParams()
	if d.ConsensusParams != nil {
		cp := *d.ConsensusParams
		cp.Validator.PubKeyTypes = append([]string(nil), cp.Validator.PubKeyTypes...)
		params = &cp
	}
	initialHeight := d.InitialHeight
	if initialHeight == 0 {
		initialHeight = 1
	}
	gd := &cmttypes.GenesisDoc{
		GenesisTime:     d.GenesisTime.Round(0).UTC(),
		ChainID:         d.ChainID,
		InitialHeight:   initialHeight,
		ConsensusParams: params,
		Validators:      Validators(&d.AppState),
		AppState:        appState,
	}
	if err := gd.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: cometbft rejects the document: %w", err)
	}
	return gd, nil
}

// Save validates the document and writes it to path as CometBFT's
// genesis.json (CometBFT's own JSON encoding, app_state our JSON). The file
// is written atomically: a temporary file in the same directory, synced,
// then renamed over path.
func (d *Document) Save(path string) error {
	gd, err := d.CometGenesis()
	if err != nil {
		return err
	}
	bz, err := cmtjson.MarshalIndent(gd, "", "  ")
	if err != nil {
		return fmt.Errorf("genesis: encode %s: %w", path, err)
	}
	bz = append(bz, '\n')
	return writeFileAtomic(path, bz, 0o644)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("genesis: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("genesis: write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("genesis: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("genesis: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("genesis: write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("genesis: write %s: %w", path, err)
	}
	// Make the rename durable; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Load reads a CometBFT genesis.json, decodes and validates its app_state
// (strictly, see DecodeAppState), validates the whole document, and checks
// that the file's validators are exactly those derived from the app state
// (same keys and powers, in order) and that app_hash is empty.
func Load(path string) (*Document, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("genesis: read %w", err)
	}
	gd, err := cmttypes.GenesisDocFromJSON(bz)
	if err != nil {
		return nil, fmt.Errorf("genesis: %s: %w", path, err)
	}
	var ps problems
	if len(gd.AppHash) > 0 {
		ps.add("app_hash must be empty (the application computes it at InitChain)")
	}
	app, err := types.DecodeGenesisState(gd.AppState)
	if err != nil {
		return nil, fmt.Errorf("genesis: %s is invalid:\n%w", path, errors.Join(append(ps, err)...))
	}
	d := &Document{
		ChainID:         gd.ChainID,
		GenesisTime:     gd.GenesisTime.UTC(),
		InitialHeight:   gd.InitialHeight,
		ConsensusParams: gd.ConsensusParams,
		AppState:        *app,
	}
	if err := d.Validate(); err != nil {
		ps = append(ps, err)
	}
	ps = append(ps, compareValidators(gd.Validators, Validators(app))...)
	if len(ps) > 0 {
		return nil, fmt.Errorf("genesis: %s is invalid:\n%w", path, ps.err())
	}
	return d, nil
}

// compareValidators checks a file's validators against those derived from
// its app state.
func compareValidators(got, want []cmttypes.GenesisValidator) problems {
	var ps problems
	if len(got) != len(want) {
		ps.add("validators: the file lists %d, the app state derives %d (government and providers with a validator_key and power)", len(got), len(want))
		return ps
	}
	for i := range want {
		switch {
		case got[i].PubKey == nil || got[i].PubKey.Type() != want[i].PubKey.Type() || !bytes.Equal(got[i].PubKey.Bytes(), want[i].PubKey.Bytes()):
			ps.add("validators[%d]: pub_key does not match the app state's (%s)", i, want[i].Name)
		case got[i].Power != want[i].Power:
			ps.add("validators[%d]: power %d does not match the app state's %d (%s)", i, got[i].Power, want[i].Power, want[i].Name)
		}
	}
	return ps
}
