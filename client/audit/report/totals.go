package report

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
)

// Totals is every small figure of the ledger, all proved at one height.
type Totals struct {
	Height  int64
	AppHash []byte // the app hash of Height (verified unless the source is not)
	// RootSum is the total yen granted that the app hash commits to
	// (the sum trie's root sum); RootCount its number of records.
	RootSum, RootCount uint64
	Gov                types.GovState
	Programs           []*ProgramView     // by ID
	Providers          []*types.Provider  // by ID
	OverGrants         []*OverGrantView   // by key
	Days               []*DayView         // the daily grant ledger, by key
	Records            map[string]Figures // key → figures, for naming records in mismatches
}

// Figures are a totals record's numbers.
type Figures struct {
	GrantedYen, SettledYen, RecoveredYen, Grants, Linked int64
}

// ProgramView is one program with its totals and its providers'.
type ProgramView struct {
	Program   *types.Program // nil if only totals exist
	ID        string
	Totals    types.ProgramTotals
	Providers []*ProviderView // by provider ID
}

// BudgetLeft is what the program may still grant.
func (p *ProgramView) BudgetLeft() int64 {
	if p.Program == nil {
		return 0
	}
	return p.Program.BudgetYen - p.Totals.GrantedYen
}

// Settled, Recovered and Outstanding sum the program's providers.
func (p *ProgramView) Settled() (n int64) {
	for _, v := range p.Providers {
		n += v.Totals.SettledYen
	}
	return n
}

// Recovered sums the providers' recovered yen.
func (p *ProgramView) Recovered() (n int64) {
	for _, v := range p.Providers {
		n += v.Totals.RecoveredYen
	}
	return n
}

// Outstanding sums the providers' outstanding yen.
func (p *ProgramView) Outstanding() (n int64) {
	for _, v := range p.Providers {
		n += v.Outstanding()
	}
	return n
}

// ProviderView is one provider's totals in one program.
type ProviderView struct {
	Program, Provider string
	Name              string
	Totals            types.ProviderTotals
}

// Key is the record's store key.
func (v *ProviderView) Key() string { return types.PrefixProviderTotals + v.Program + "/" + v.Provider }

// Outstanding is granted − settled − recovered: what the government still
// owes the provider.
func (v *ProviderView) Outstanding() int64 {
	return v.Totals.GrantedYen - v.Totals.SettledYen - v.Totals.RecoveredYen
}

// OverGrantView is one over-grant record.
type OverGrantView struct {
	Key string
	types.OverGrant
}

// DayView is one daily record: a provider's grants in a program on one
// day (Japan time), the public grant ledger.
type DayView struct {
	Key                    string
	Program, Provider, Day string
	types.DailyTotals
}

// DailyYen sums the daily records' granted yen.
func (t *Totals) DailyYen() (n int64) {
	for _, d := range t.Days {
		n += d.GrantedYen
	}
	return n
}

// Program returns the program view with id, or nil.
func (t *Totals) Program(id string) *ProgramView {
	for _, p := range t.Programs {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// Provider returns the provider record with id, or nil.
func (t *Totals) Provider(id string) *types.Provider {
	for _, p := range t.Providers {
		if p.Id == id {
			return p
		}
	}
	return nil
}

// ProviderIn returns provider's totals in program, or nil.
func (t *Totals) ProviderIn(program, provider string) *ProviderView {
	if p := t.Program(program); p != nil {
		for _, v := range p.Providers {
			if v.Provider == provider {
				return v
			}
		}
	}
	return nil
}

// GrantedYen sums every program's granted yen.
func (t *Totals) GrantedYen() (n int64) {
	for _, p := range t.Programs {
		n += p.Totals.GrantedYen
	}
	return n
}

// ReadTotals reads programs, providers, their totals, over-grants, the
// daily grant ledger and the government state, all proved at one height, and the total granted the
// app hash of that height commits to.
func ReadTotals(ctx context.Context, src Source) (*Totals, error) {
	prefixes := []string{types.PrefixProgram, types.PrefixProgramTotals, types.PrefixProvider, types.PrefixProviderTotals, types.PrefixOverGrant, types.PrefixDaily}
	height, sets, recs, err := ConsistentWith(ctx, src, prefixes, []string{types.PrefixGov})
	if err != nil {
		return nil, err
	}
	gov := recs[0]
	t := &Totals{Height: height, Records: map[string]Figures{}}
	// Unverified sources give the unverified header's app hash.
	if t.AppHash, err = src.AppHash(ctx, height); err != nil {
		return nil, err
	}
	if t.RootSum, err = proof.RootSum(t.AppHash); err != nil {
		return nil, fmt.Errorf("report: app hash of height %d from node %s: %w", height, src.Node(), err)
	}
	if t.RootCount, err = proof.RootCount(t.AppHash); err != nil {
		return nil, fmt.Errorf("report: app hash of height %d from node %s: %w", height, src.Node(), err)
	}
	progs := map[string]*ProgramView{}
	prog := func(id string) *ProgramView {
		if p := progs[id]; p != nil {
			return p
		}
		p := &ProgramView{ID: id}
		progs[id] = p
		return p
	}
	if gov.Value != nil {
		if err := decode(*gov, &t.Gov); err != nil {
			return nil, err
		}
	}
	for _, r := range sets[0] {
		var p types.Program
		if err := decode(r, &p); err != nil {
			return nil, err
		}
		prog(p.Id).Program = &p
	}
	for _, r := range sets[1] {
		id := strings.TrimPrefix(r.Key, types.PrefixProgramTotals)
		pv := prog(id)
		if err := decode(r, &pv.Totals); err != nil {
			return nil, err
		}
		t.Records[r.Key] = Figures{GrantedYen: pv.Totals.GrantedYen, Grants: pv.Totals.Grants, Linked: pv.Totals.Linked}
	}
	names := map[string]string{}
	for _, r := range sets[2] {
		var p types.Provider
		if err := decode(r, &p); err != nil {
			return nil, err
		}
		t.Providers = append(t.Providers, &p)
		names[p.Id] = p.Name
	}
	for _, r := range sets[3] {
		program, provider, ok := strings.Cut(strings.TrimPrefix(r.Key, types.PrefixProviderTotals), "/")
		if !ok {
			return nil, fmt.Errorf("report: unexpected key %q", r.Key)
		}
		v := &ProviderView{Program: program, Provider: provider, Name: names[provider]}
		if err := decode(r, &v.Totals); err != nil {
			return nil, err
		}
		prog(program).Providers = append(prog(program).Providers, v)
		t.Records[r.Key] = Figures{GrantedYen: v.Totals.GrantedYen, SettledYen: v.Totals.SettledYen,
			RecoveredYen: v.Totals.RecoveredYen, Grants: v.Totals.Grants, Linked: v.Totals.Linked}
	}
	for _, r := range sets[4] {
		og := &OverGrantView{Key: r.Key}
		if err := decode(r, &og.OverGrant); err != nil {
			return nil, err
		}
		t.OverGrants = append(t.OverGrants, og)
	}
	for _, r := range sets[5] {
		parts := strings.Split(strings.TrimPrefix(r.Key, types.PrefixDaily), "/")
		if len(parts) != 3 {
			return nil, fmt.Errorf("report: unexpected key %q", r.Key)
		}
		d := &DayView{Key: r.Key, Program: parts[0], Provider: parts[1], Day: parts[2]}
		if err := decode(r, &d.DailyTotals); err != nil {
			return nil, err
		}
		t.Days = append(t.Days, d)
	}
	for _, p := range progs {
		t.Programs = append(t.Programs, p)
	}
	sort.Slice(t.Programs, func(i, j int) bool { return t.Programs[i].ID < t.Programs[j].ID })
	// Keys come in key order, so providers within a program and the
	// provider list are sorted already.
	return t, nil
}

// record is a generated state message.
type record interface{ Unmarshal([]byte) error }

func decode(r lightverify.Record, m record) error {
	if err := m.Unmarshal(r.Value); err != nil {
		return fmt.Errorf("report: record %s (height %d) does not decode: %w; is the node of another version?", r.Key, r.Height, err)
	}
	return nil
}
