package app

import (
	"bytes"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/types"
)

// The ledger keeps the validator set CometBFT will use (its
// NextValidators: the genesis set and every update sent since) under
// keyValidators, so it can check each power change the way CometBFT will
// apply it. An update CometBFT refuses stops consensus on every node
// ("failed to apply block"), so a government action whose changes would
// be refused is rejected instead.

// valChanges are the validator power changes made by one block's accepted
// government actions.
type valChanges struct {
	start *types.ValidatorSet // the set before this block; nil until first needed
	keys  []string            // changed keys, in the order first changed
	power map[string]int64    // desired power of each changed key
}

// setPower records that key should have power at the end of the block.
func (v *valChanges) setPower(key []byte, power int64) {
	if v.power == nil {
		v.power = map[string]int64{}
	}
	k := string(key)
	if _, ok := v.power[k]; !ok {
		v.keys = append(v.keys, k)
	}
	v.power[k] = power
}

// save returns a copy of the changes, for restore after a rejection.
func (v *valChanges) save() valChanges {
	cp := valChanges{start: v.start, keys: slices.Clone(v.keys)}
	if v.power != nil {
		cp.power = make(map[string]int64, len(v.power))
		for k, p := range v.power {
			cp.power[k] = p
		}
	}
	return cp
}

// updates returns the net updates of the block (the start set must be
// loaded): one per key whose power differs from the start of the block, in the order first changed. A key
// set to 0 that was not a validator, or set back to its power, sends
// nothing.
func (v *valChanges) updates() []abci.ValidatorUpdate {
	var out []abci.ValidatorUpdate
	for _, k := range v.keys {
		want := v.power[k]
		if want == startPower(v.start, []byte(k)) {
			continue
		}
		out = append(out, abci.ValidatorUpdate{Power: want, PubKeyBytes: []byte(k), PubKeyType: cmted25519.KeyType})
	}
	return out
}

func startPower(s *types.ValidatorSet, key []byte) int64 {
	if s == nil {
		return 0
	}
	for _, v := range s.Validators {
		if bytes.Equal(v.PubKey, key) {
			return v.Power
		}
	}
	return 0
}

// loadStart reads the set at the start of the block, once.
func (v *valChanges) loadStart(r reader) error {
	if v.start != nil {
		return nil
	}
	var s types.ValidatorSet
	ok, err := load(r, types.KeyValidators(), &s)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("app: no validator set in state")
	}
	v.start = &s
	return nil
}

// cometSet builds CometBFT's ValidatorSet from the ledger's record.
func cometSet(s *types.ValidatorSet) (*cmttypes.ValidatorSet, error) {
	vals := make([]*cmttypes.Validator, 0, len(s.Validators))
	for _, v := range s.Validators {
		if len(v.PubKey) != cmted25519.PubKeySize {
			return nil, fmt.Errorf("app: validator key of %d bytes in state", len(v.PubKey))
		}
		vals = append(vals, cmttypes.NewValidator(cmted25519.PubKey(v.PubKey), v.Power))
	}
	set := cmttypes.NewValidatorSet(nil)
	if len(vals) > 0 {
		if err := set.UpdateWithChangeSet(vals); err != nil {
			return nil, fmt.Errorf("app: validator set in state: %w", err)
		}
	}
	return set, nil
}

// check applies the block's net updates to a copy of the start set the
// way CometBFT will (ValidatorSet.UpdateWithChangeSet, which also bounds
// the total power and refuses an empty set). A refusal is a rejection.
func (v *valChanges) check(r reader) error {
	if len(v.keys) == 0 {
		return nil
	}
	if err := v.loadStart(r); err != nil {
		return err
	}
	ups := v.updates()
	if len(ups) == 0 {
		return nil
	}
	_, err := applyUpdates(v.start, ups)
	return err
}

// applyUpdates returns the set after ups, or a rejection if CometBFT would
// refuse them.
func applyUpdates(s *types.ValidatorSet, ups []abci.ValidatorUpdate) (*types.ValidatorSet, error) {
	set, err := cometSet(s)
	if err != nil {
		return nil, err
	}
	changes := make([]*cmttypes.Validator, 0, len(ups))
	for _, u := range ups {
		if u.Power < 0 {
			return nil, types.ErrInvalidAction.Wrapf("validator power %d is negative", u.Power)
		}
		changes = append(changes, cmttypes.NewValidator(cmted25519.PubKey(u.PubKeyBytes), u.Power))
	}
	if err := set.UpdateWithChangeSet(changes); err != nil {
		return nil, types.ErrInvalidAction.Wrapf("CometBFT would refuse the validator updates: %v", err)
	}
	out := &types.ValidatorSet{}
	for _, val := range set.Validators {
		out.Validators = append(out.Validators, &types.ValidatorPower{PubKey: val.PubKey.Bytes(), Power: val.VotingPower})
	}
	sortValidators(out)
	return out, nil
}

func sortValidators(s *types.ValidatorSet) {
	slices.SortFunc(s.Validators, func(a, b *types.ValidatorPower) int { return bytes.Compare(a.PubKey, b.PubKey) })
}

// finish returns the block's validator updates and stores the set they
// make. CometBFT applies them as they are checked here.
func (v *valChanges) finish(c *cache) ([]abci.ValidatorUpdate, error) {
	if len(v.keys) == 0 {
		return nil, nil
	}
	if err := v.loadStart(c); err != nil {
		return nil, err
	}
	ups := v.updates()
	if len(ups) == 0 {
		return nil, nil
	}
	next, err := applyUpdates(v.start, ups)
	if err != nil {
		// Every action's changes were checked when it was accepted.
		return nil, fmt.Errorf("app: block's validator updates: %w", err)
	}
	return ups, save(c, types.KeyValidators(), next, 0)
}

// genesisValidators is the set CometBFT starts with: the government's and
// each provider's validator key with power > 0.
func genesisValidators(gs *types.GovState, providers []*types.Provider) (*types.ValidatorSet, error) {
	var ups []abci.ValidatorUpdate
	if len(gs.ValidatorKey) > 0 && gs.Power > 0 {
		ups = append(ups, abci.ValidatorUpdate{PubKeyBytes: gs.ValidatorKey, Power: gs.Power})
	}
	for _, p := range providers {
		if len(p.ValidatorKey) > 0 && p.Power > 0 {
			ups = append(ups, abci.ValidatorUpdate{PubKeyBytes: p.ValidatorKey, Power: p.Power})
		}
	}
	return applyUpdates(&types.ValidatorSet{}, ups)
}

func sameValidators(a, b *types.ValidatorSet) bool {
	return slices.EqualFunc(a.Validators, b.Validators, func(x, y *types.ValidatorPower) bool {
		return bytes.Equal(x.PubKey, y.PubKey) && x.Power == y.Power
	})
}
