package types

import (
	"errors"
	"fmt"
	"time"
)

// MinRSABits is the smallest RSA modulus accepted for a trust anchor.
const MinRSABits = 2048

// genesisProblems collects validation errors, each prefixed "genesis: ".
type genesisProblems []error

func (p *genesisProblems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf("genesis: "+format, args...))
}

func (p genesisProblems) err() error { return errors.Join(p...) }

// Validate checks the app state: the rules a network starts from, which
// InitChain applies (DecodeGenesisState) as genesis validation does. It
// reports every problem it finds (errors.Join), each naming the field, e.g.
// `genesis: providers[2].id "acme": duplicate provider id`.
func (a *GenesisState) Validate() error { return a.problems().err() }

func (a *GenesisState) problems() genesisProblems {
	var ps genesisProblems
	if len(a.PseudonymCommitment) != 32 {
		ps.add("pseudonym_commitment must be the 32-byte commitment to the network pseudonym key (hex), got %d bytes", len(a.PseudonymCommitment))
	}
	vals := &validatorCheck{ps: &ps, keys: map[string]string{}}
	nodes := &nodeCheck{ps: &ps, owners: map[string]string{}}
	a.Government.check(&ps, vals, nodes)
	a.checkProviders(&ps, vals, nodes)
	vals.checkTotal()
	a.checkPrograms(&ps)
	_, anchorProblems := parseAnchors(a.TrustAnchors)
	return append(ps, anchorProblems...)
}

// validatorCheck checks the validator keys and powers of the government
// and the providers: each key once, the total within CometBFT's limit, at
// least one validator.
type validatorCheck struct {
	ps    *genesisProblems
	keys  map[string]string // validator key → the field that first used it
	total int64             // clamped to MaxTotalPower+1
	count int
}

func (v *validatorCheck) check(field string, key HexBytes, power int64) {
	ps := v.ps
	switch {
	case power < 0:
		ps.add("%s.power %d must not be negative", field, power)
	case power > MaxTotalPower:
		ps.add("%s.power %d is above the maximum %d", field, power, int64(MaxTotalPower))
	}
	if len(key) == 0 {
		if power > 0 {
			ps.add("%s.power %d is set but %s.validator_key is empty", field, power, field)
		}
		return
	}
	if err := ValidKey(key); err != nil {
		ps.add("%s.validator_key %v", field, err)
	} else if first, dup := v.keys[string(key)]; dup {
		ps.add("%s.validator_key: duplicate validator key (also %s.validator_key)", field, first)
	} else {
		v.keys[string(key)] = field
	}
	if power == 0 {
		ps.add("%s.power must be positive when a validator_key is set", field)
	}
	if power > 0 && power <= MaxTotalPower {
		v.count++
		// Each term is at most MaxInt64/8 and the sum is clamped, so this
		// cannot overflow.
		v.total = min(v.total+power, MaxTotalPower+1)
	}
}

func (v *validatorCheck) checkTotal() {
	if v.count == 0 {
		v.ps.add("no validator: the government or a provider needs a validator_key and power > 0")
	} else if v.total > MaxTotalPower {
		v.ps.add("total validator power is above the maximum %d", int64(MaxTotalPower))
	}
}

// nodeCheck checks each owner's node IDs and that no node ID is registered
// to two owners.
type nodeCheck struct {
	ps     *genesisProblems
	owners map[string]string // node ID → the owner field that first registered it
}

func (n *nodeCheck) check(field string, ids []string) {
	*n.ps = append(*n.ps, nodeIDProblems(field, ids)...)
	for i, id := range ids {
		if first, dup := n.owners[id]; dup && first != field {
			n.ps.add("%s.node_ids[%d] %s: node ID also registered to %s", field, i, id, first)
		} else if !dup {
			n.owners[id] = field
		}
	}
}

// check checks the government: its authority keys and threshold, its name,
// validator and nodes.
func (g *GenesisGovernment) check(ps *genesisProblems, vals *validatorCheck, nodes *nodeCheck) {
	if len(g.Keys) == 0 {
		ps.add("government.keys must list at least one key")
	}
	seen := map[string]int{}
	for i, k := range g.Keys {
		if err := ValidKey(k); err != nil {
			ps.add("government.keys[%d] %v", i, err)
			continue
		}
		if j, dup := seen[string(k)]; dup {
			ps.add("government.keys[%d]: duplicate key (also government.keys[%d])", i, j)
			continue
		}
		seen[string(k)] = i
	}
	switch {
	case g.Threshold == 0:
		ps.add("government.threshold must be at least 1")
	case int(g.Threshold) > len(g.Keys):
		ps.add("government.threshold %d is above the number of keys (%d)", g.Threshold, len(g.Keys))
	}
	checkName(ps, "government.name", g.Name)
	vals.check("government", g.ValidatorKey, g.Power)
	nodes.check("government", g.NodeIDs)
}

// checkProviders checks each provider and that IDs and grant keys are
// unique.
func (a *GenesisState) checkProviders(ps *genesisProblems, vals *validatorCheck, nodes *nodeCheck) {
	ids := map[string]int{}
	grantKeys := map[string]int{}
	for i, p := range a.Providers {
		field := fmt.Sprintf("providers[%d]", i)
		before := len(*ps)
		if checkID(ps, field+".id", p.ID) {
			if j, dup := ids[p.ID]; dup {
				ps.add("%s.id %q: duplicate provider id (also providers[%d])", field, p.ID, j)
			} else {
				ids[p.ID] = i
			}
		}
		checkName(ps, field+".name", p.Name)
		if err := ValidKey(p.GrantKey); err != nil {
			ps.add("%s.grant_key %v", field, err)
		} else if j, dup := grantKeys[string(p.GrantKey)]; dup {
			ps.add("%s.grant_key: duplicate grant key (also providers[%d].grant_key)", field, j)
		} else {
			grantKeys[string(p.GrantKey)] = i
		}
		vals.check(field, p.ValidatorKey, p.Power)
		nodes.check(field, p.NodeIDs)
		// The ledger's rule for a registered provider (ValidateProvider);
		// reported only if the checks above, which name the field more
		// precisely, found nothing.
		if len(*ps) == before {
			if err := ValidateProvider(p.Proto(), MaxTotalPower); err != nil {
				ps.add("%s.%v", field, err)
			}
		}
	}
}

// checkPrograms checks each program and that IDs are unique.
func (a *GenesisState) checkPrograms(ps *genesisProblems) {
	ids := map[string]int{}
	for i, p := range a.Programs {
		field := fmt.Sprintf("programs[%d]", i)
		*ps = append(*ps, validateProgram(field, p)...)
		if ValidID(p.ID) == nil {
			if j, dup := ids[p.ID]; dup {
				ps.add("%s.id %q: duplicate program id (also programs[%d])", field, p.ID, j)
			} else {
				ids[p.ID] = i
			}
		}
	}
}

// validateProgram checks one program; field is its name in messages, e.g.
// "programs[0]".
func validateProgram(field string, p GenesisProgram) genesisProblems {
	var ps genesisProblems
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
	checkWindow(&ps, field, "link", p.LinkStart, p.LinkEnd)
	checkWindow(&ps, field, "grant", p.GrantStart, p.GrantEnd)
	// The ledger's rule for a program (ValidateProgram); reported only if
	// the checks above, which name the field, found nothing.
	if len(ps) == 0 {
		if err := ValidateProgram(p.proto()); err != nil {
			ps.add("%s.%v", field, err)
		}
	}
	return ps
}

// checkWindow checks a program window [start, end): both times valid, and
// start before end.
func checkWindow(ps *genesisProblems, field, name string, start, end time.Time) {
	okStart := checkTime(ps, field+"."+name+"_start", start)
	okEnd := checkTime(ps, field+"."+name+"_end", end)
	if okStart && okEnd && !start.Before(end) {
		ps.add("%s.%s_start %s must be before %s_end %s", field, name, fmtTime(start), name, fmtTime(end))
	}
}

var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// checkTime checks that a program time is set, a whole second, and in
// 1970..9999 (Unix seconds on the ledger, RFC 3339 in JSON).
func checkTime(ps *genesisProblems, field string, t time.Time) bool {
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
func checkID(ps *genesisProblems, field, id string) bool {
	if err := ValidID(id); err != nil {
		if id == "" {
			ps.add("%s %v", field, err)
		} else {
			ps.add("%s %q %v", field, id, err)
		}
		return false
	}
	return true
}

func checkName(ps *genesisProblems, field, name string) {
	if err := ValidName(name); err != nil {
		ps.add("%s %v", field, err)
	}
}
