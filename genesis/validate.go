package genesis

import (
	"errors"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
)

// MaxChainIDLen is CometBFT's limit on the chain ID, checked by Validate
// (the app state's limits are app/types').
const MaxChainIDLen = cmttypes.MaxChainIDLen

// problems collects validation errors, each prefixed "genesis: ".
type problems []error

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf("genesis: "+format, args...))
}

func (p problems) err() error { return errors.Join(p...) }

// Validate checks the whole document: the chain ID, initial height, genesis
// time, consensus parameters and the app state. It reports every problem it
// finds (errors.Join), each naming the field.
func (d *Document) Validate() error {
	var ps problems
	switch {
	case d.ChainID == "":
		ps.add("chain_id must not be empty")
	case len(d.ChainID) > MaxChainIDLen:
		ps.add("chain_id %q is %d bytes, at most %d allowed", d.ChainID, len(d.ChainID), MaxChainIDLen)
	}
	if d.InitialHeight < 0 {
		ps.add("initial_height %d must not be negative", d.InitialHeight)
	}
	if d.GenesisTime.IsZero() {
		ps.add("genesis_time must be set")
	}
	if cp := d.ConsensusParams; cp != nil {
		if err := cp.ValidateBasic(); err != nil {
			ps.add("consensus_params: %v", err)
		} else if !cmttypes.IsValidPubkeyType(cp.Validator, cmttypes.ABCIPubKeyTypeEd25519) {
			ps.add("consensus_params.validator.pub_key_types %q does not allow %q, the validators' key type",
				cp.Validator.PubKeyTypes, cmttypes.ABCIPubKeyTypeEd25519)
		}
	}
	// The app state's problems, one by one (the ledger's rule,
	// types.GenesisState.Validate).
	if err := d.AppState.Validate(); err != nil {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			ps = append(ps, joined.Unwrap()...)
		} else {
			ps = append(ps, err)
		}
	}
	return ps.err()
}
