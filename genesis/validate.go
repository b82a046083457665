package genesis

import (
	"errors"
	"fmt"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/types"
)

// Limits checked by Validate.
const (
	// MaxChainIDLen is CometBFT's limit on the chain ID.
	MaxChainIDLen = cmttypes.MaxChainIDLen
	// MaxIDLen is the longest provider or program ID.
	MaxIDLen = types.MaxIDLen
	// MaxNameLen is the longest name, in characters.
	MaxNameLen = types.MaxNameLen
	// KeySize is the size of an ed25519 public key.
	KeySize = types.KeySize
	// MinRSABits is the smallest RSA modulus accepted for a trust anchor.
	MinRSABits = 2048
)

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
	ps = append(ps, d.AppState.problems()...)
	return ps.err()
}

// Validate checks the app state (see the package documentation for the
// rules). It reports every problem it finds (errors.Join), each naming the
// field, e.g. `genesis: providers[2].id "acme": duplicate provider id`.
func (a *AppState) Validate() error { return a.problems().err() }

func (a *AppState) problems() problems {
	var ps problems
	// validator key (hex) -> the field that first used it
	valKeys := map[string]string{}
	var totalPower int64
	validators := 0
	checkValidator := func(field string, key HexBytes, power int64) {
		switch {
		case power < 0:
			ps.add("%s.power %d must not be negative", field, power)
		case power > cmttypes.MaxTotalVotingPower:
			ps.add("%s.power %d is above the maximum %d", field, power, cmttypes.MaxTotalVotingPower)
		}
		if len(key) == 0 {
			if power > 0 {
				ps.add("%s.power %d is set but %s.validator_key is empty", field, power, field)
			}
			return
		}
		if err := types.ValidKey(key); err != nil {
			ps.add("%s.validator_key %v", field, err)
		} else if first, dup := valKeys[string(key)]; dup {
			ps.add("%s.validator_key: duplicate validator key (also %s.validator_key)", field, first)
		} else {
			valKeys[string(key)] = field
		}
		if power == 0 {
			ps.add("%s.power must be positive when a validator_key is set", field)
		}
		if power > 0 && power <= cmttypes.MaxTotalVotingPower {
			validators++
			// Each term is at most MaxInt64/8 and the sum is clamped, so
			// this cannot overflow.
			totalPower += power
			if totalPower > cmttypes.MaxTotalVotingPower {
				totalPower = cmttypes.MaxTotalVotingPower + 1
			}
		}
	}

	if len(a.PseudonymCommitment) != 32 {
		ps.add("pseudonym_commitment must be the 32-byte commitment to the network pseudonym key (hex), got %d bytes", len(a.PseudonymCommitment))
	}

	// Government.
	g := &a.Government
	if len(g.Keys) == 0 {
		ps.add("government.keys must list at least one key")
	}
	govKeys := map[string]int{}
	for i, k := range g.Keys {
		if err := types.ValidKey(k); err != nil {
			ps.add("government.keys[%d] %v", i, err)
			continue
		}
		if j, dup := govKeys[string(k)]; dup {
			ps.add("government.keys[%d]: duplicate key (also government.keys[%d])", i, j)
			continue
		}
		govKeys[string(k)] = i
	}
	switch {
	case g.Threshold == 0:
		ps.add("government.threshold must be at least 1")
	case int(g.Threshold) > len(g.Keys):
		ps.add("government.threshold %d is above the number of keys (%d)", g.Threshold, len(g.Keys))
	}
	checkName(&ps, "government.name", g.Name)
	checkValidator("government", g.ValidatorKey, g.Power)
	// node ID -> the owner field that first registered it
	nodeIDs := map[string]string{}
	checkNodes := func(field string, ids []string) {
		ps = append(ps, nodeIDProblems(field, ids)...)
		for i, id := range ids {
			if first, dup := nodeIDs[id]; dup && first != field {
				ps.add("%s.node_ids[%d] %s: node ID also registered to %s", field, i, id, first)
			} else if !dup {
				nodeIDs[id] = field
			}
		}
	}
	checkNodes("government", g.NodeIDs)

	// Providers.
	providerIDs := map[string]int{}
	grantKeys := map[string]int{}
	for i, p := range a.Providers {
		field := fmt.Sprintf("providers[%d]", i)
		before := len(ps)
		if checkID(&ps, field+".id", p.ID) {
			if j, dup := providerIDs[p.ID]; dup {
				ps.add("%s.id %q: duplicate provider id (also providers[%d])", field, p.ID, j)
			} else {
				providerIDs[p.ID] = i
			}
		}
		checkName(&ps, field+".name", p.Name)
		if err := types.ValidKey(p.GrantKey); err != nil {
			ps.add("%s.grant_key %v", field, err)
		} else if j, dup := grantKeys[string(p.GrantKey)]; dup {
			ps.add("%s.grant_key: duplicate grant key (also providers[%d].grant_key)", field, j)
		} else {
			grantKeys[string(p.GrantKey)] = i
		}
		checkValidator(field, p.ValidatorKey, p.Power)
		checkNodes(field, p.NodeIDs)
		// The app's own rule for a registered provider (one rule, one
		// place); reported only if the checks above found nothing, which
		// name the field more precisely.
		if len(ps) == before {
			if err := types.ValidateProvider(p.Proto(), cmttypes.MaxTotalVotingPower); err != nil {
				ps.add("%s.%v", field, err)
			}
		}
	}
	if validators == 0 {
		ps.add("no validator: the government or a provider needs a validator_key and power > 0")
	} else if totalPower > cmttypes.MaxTotalVotingPower {
		ps.add("total validator power is above the maximum %d", cmttypes.MaxTotalVotingPower)
	}

	// Programs.
	programIDs := map[string]int{}
	for i, p := range a.Programs {
		field := fmt.Sprintf("programs[%d]", i)
		ps = append(ps, validateProgram(field, p)...)
		if types.ValidID(p.ID) == nil {
			if j, dup := programIDs[p.ID]; dup {
				ps.add("%s.id %q: duplicate program id (also programs[%d])", field, p.ID, j)
			} else {
				programIDs[p.ID] = i
			}
		}
	}

	// Trust anchors.
	_, anchorProblems := parseAnchors(a.TrustAnchors)
	ps = append(ps, anchorProblems...)
	return ps
}

// validateProgram checks one program; field is its name in messages, e.g.
// "programs[0]".
func validateProgram(field string, p Program) problems {
	var ps problems
	checkID(&ps, field+".id", p.ID)
	checkName(&ps, field+".name", p.Name)
	switch p.Kind {
	case KindPercentOfCharge:
		if p.RateBP <= 0 || p.RateBP > 10000 {
			ps.add("%s.rate_bp %d must be in 1..10000 (basis points)", field, p.RateBP)
		}
		if p.CapYen <= 0 {
			ps.add("%s.cap_yen must be positive", field)
		}
		if p.FixedYen != 0 {
			ps.add("%s.fixed_yen must be 0 for a %s program", field, KindPercentOfCharge)
		}
	case KindFixed:
		if p.FixedYen <= 0 {
			ps.add("%s.fixed_yen must be positive", field)
		} else if p.CapYen != 0 && p.CapYen != p.FixedYen {
			ps.add("%s.cap_yen %d must be 0 or equal to fixed_yen (%d)", field, p.CapYen, p.FixedYen)
		}
		if p.RateBP != 0 {
			ps.add("%s.rate_bp must be 0 for a %s program", field, KindFixed)
		}
	case "":
		ps.add("%s.kind must be set (%q or %q)", field, KindPercentOfCharge, KindFixed)
	default:
		ps.add("%s.kind %q is unknown (want %q or %q)", field, p.Kind, KindPercentOfCharge, KindFixed)
	}
	if p.BudgetYen <= 0 {
		ps.add("%s.budget_yen must be positive", field)
	}
	okLS := checkTime(&ps, field+".link_start", p.LinkStart)
	okLE := checkTime(&ps, field+".link_end", p.LinkEnd)
	if okLS && okLE && !p.LinkStart.Before(p.LinkEnd) {
		ps.add("%s.link_start %s must be before link_end %s", field, fmtTime(p.LinkStart), fmtTime(p.LinkEnd))
	}
	okGS := checkTime(&ps, field+".grant_start", p.GrantStart)
	okGE := checkTime(&ps, field+".grant_end", p.GrantEnd)
	if okGS && okGE && !p.GrantStart.Before(p.GrantEnd) {
		ps.add("%s.grant_start %s must be before grant_end %s", field, fmtTime(p.GrantStart), fmtTime(p.GrantEnd))
	}
	// The app's own rule for a program (one rule, one place); reported
	// only if the checks above, which name the field, found nothing.
	if len(ps) == 0 {
		if err := types.ValidateProgram(p.proto()); err != nil {
			ps.add("%s.%v", field, err)
		}
	}
	return ps
}

var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// checkTime checks that a program time is set, a whole second, and in
// 1970..9999 (Unix seconds on the ledger, RFC 3339 in JSON).
func checkTime(ps *problems, field string, t time.Time) bool {
	switch {
	case t.IsZero():
		ps.add("%s must be set", field)
	case t.Before(minTime) || t.After(maxTime):
		ps.add("%s %s is out of range (1970-01-01 to 9999-12-31)", field, fmtTime(t))
	case t.Nanosecond() != 0:
		ps.add("%s %s must be a whole second (the ledger stores Unix seconds)", field, t.UTC().Format(time.RFC3339Nano))
	default:
		return true
	}
	return false
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkID checks a provider or program ID and reports whether it is valid.
func checkID(ps *problems, field, id string) bool {
	if err := types.ValidID(id); err != nil {
		if id == "" {
			ps.add("%s %v", field, err)
		} else {
			ps.add("%s %q %v", field, id, err)
		}
		return false
	}
	return true
}

func checkName(ps *problems, field, name string) {
	if err := types.ValidName(name); err != nil {
		ps.add("%s %v", field, err)
	}
}
