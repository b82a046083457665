package report

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/mykeyledger/mykey/app/types"
)

// ErrNotFound is a record proved absent.
var ErrNotFound = errors.New("report: not found")

// PersonReport is what the ledger holds about one MyKey ID.
type PersonReport struct {
	ID     string
	Record types.MyKeyRecord
	Height int64 // the MyKey record's height
	// MergedFrom are IDs a succession merged into this one, as the
	// history's summaries name them.
	MergedFrom []string
	Programs   []*PersonProgram
	History    []*HistoryItem // government actions naming this ID
	Mismatches []Mismatch
}

// PersonProgram is the person's standing in one program.
type PersonProgram struct {
	Program      string
	Link         *types.Linkage // nil: none (absence proved at LinkHeight)
	LinkHeight   int64
	Totals       types.PersonTotals
	TotalsHeight int64
	Events       []*types.LinkEvent // the linkage's history, in order
	OverGrants   []*OverGrantView
	// Grants are the grants to this ID and the IDs merged into it, and
	// the charges to them the ledger rejected (Grant.IsRejected),
	// recorded by TotalsHeight (at most maxPersonGrants are kept);
	// Scan says what was read (nil when grants were not asked for).
	Grants []*Grant
	Scan   *Scan
}

// Granted are pp's grants, without the rejected charges.
func (pp *PersonProgram) Granted() []*Grant {
	var out []*Grant
	for _, g := range pp.Grants {
		if !g.IsRejected() {
			out = append(out, g)
		}
	}
	return out
}

// Rejected are the rejected charges among pp's grant records.
func (pp *PersonProgram) Rejected() []*Grant {
	var out []*Grant
	for _, g := range pp.Grants {
		if g.IsRejected() {
			out = append(out, g)
		}
	}
	return out
}

// maxPersonGrants bounds the grants a person report keeps.
const maxPersonGrants = 10000

// mergedRE reads a merge out of a succession's summary (see
// app/succession.go): "merged MyKey IDs A and B into W: reason".
var mergedRE = regexp.MustCompile(`merged MyKey IDs ([0-9A-Z]{8}) and ([0-9A-Z]{8}) into ([0-9A-Z]{8})`)

// Person reads the record of MyKey ID id, its linkage, totals and link
// history in every program, and the government actions naming it. t and h
// give over-grants and history (ReadTotals, ReadHistory). With grants it
// also reads the grants to the ID and the IDs merged into it (scanning the
// grant records of every provider it was linked to) and checks they add
// up to its totals. ErrNotFound if the ledger proves the ID absent.
func Person(ctx context.Context, src Source, t *Totals, h *History, id string, grants bool) (*PersonReport, error) {
	r, err := src.Get(ctx, types.PrefixMyKey+id)
	if err != nil {
		return nil, err
	}
	if r.Value == nil {
		return nil, fmt.Errorf("%w: no MyKey ID %s at height %d", ErrNotFound, id, r.Height)
	}
	p := &PersonReport{ID: id, Height: r.Height}
	if err := decode(*r, &p.Record); err != nil {
		return nil, err
	}
	ids := map[string]bool{id: true}
	if h != nil {
		for _, it := range h.Items {
			m := mergedRE.FindStringSubmatch(it.Summary)
			named := it.MyKeyID == id
			if m != nil && (m[1] == id || m[2] == id || m[3] == id) {
				named = true
				if m[3] == id {
					for _, other := range m[1:3] {
						if other != id && !ids[other] {
							ids[other] = true
							p.MergedFrom = append(p.MergedFrom, other)
						}
					}
				}
			}
			if named {
				p.History = append(p.History, it)
			}
		}
	}
	for _, program := range p.Record.Programs {
		pp, err := personProgram(ctx, src, t, program, id, p.Record.MergedInto, ids, grants)
		if err != nil {
			return nil, err
		}
		p.Programs = append(p.Programs, pp)
		if pp.Scan == nil {
			continue
		}
		var got, n int64
		for _, g := range pp.Grants {
			if !g.IsRejected() {
				got += g.GrantedYen
				n++
			}
		}
		// A merged-away ID's totals moved to the ID it was merged into.
		if p.Record.MergedInto == "" && n == pp.Scan.Passed && got != pp.Totals.GrantedYen {
			p.Mismatches = append(p.Mismatches, Mismatch{Check: "person = grants",
				Records: []string{types.PrefixPerson + program + "/" + id, types.PrefixCharge + program + "/*"},
				Detail: fmt.Sprintf("person %s in program %s: totals say %d yen granted, the grants to it and the IDs merged into it add up to %d yen",
					id, program, pp.Totals.GrantedYen, got)})
		}
		for _, m := range pp.Scan.Problems {
			p.Mismatches = append(p.Mismatches, Mismatch{Check: "grant record", Records: []string{m.Key}, Detail: m.Detail})
		}
	}
	return p, nil
}

// personProgram reads one program of a person's report. into is the ID
// this one was merged into, if any: a merged-away linkage's history moved
// to that ID's linkage record.
func personProgram(ctx context.Context, src Source, t *Totals, program, id, into string, ids map[string]bool, grants bool) (*PersonProgram, error) {
	pp := &PersonProgram{Program: program}
	r, err := src.Get(ctx, types.PrefixLink+program+"/"+id)
	if err != nil {
		return nil, err
	}
	pp.LinkHeight = r.Height
	if r.Value != nil {
		pp.Link = &types.Linkage{}
		if err := decode(*r, pp.Link); err != nil {
			return nil, err
		}
	}
	r, err = src.Get(ctx, types.PrefixPerson+program+"/"+id)
	if err != nil {
		return nil, err
	}
	pp.TotalsHeight = r.Height
	if r.Value != nil {
		if err := decode(*r, &pp.Totals); err != nil {
			return nil, err
		}
	}
	providers := map[string]bool{}
	sorted := make([]string, 0, len(ids))
	for other := range ids {
		sorted = append(sorted, other)
	}
	sort.Strings(sorted)
	for _, other := range sorted {
		var events []*types.LinkEvent
		switch {
		case other != id:
			if events, err = linkEvents(ctx, src, program, other); err != nil {
				return nil, err
			}
		case pp.Link != nil: // read above, with its proof
			events = pp.Link.History
		}
		for _, e := range events {
			providers[e.ProviderId] = true
		}
		if other == id {
			pp.Events = events
		}
	}
	if pp.Link == nil && into != "" {
		// The linkage moved with its history to the surviving ID: this
		// ID's part of it is the events that name it.
		events, err := linkEvents(ctx, src, program, into)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if e.MykeyId == id {
				pp.Events = append(pp.Events, e)
				providers[e.ProviderId] = true
			}
		}
	}
	for _, og := range t.OverGrants {
		if og.ProgramId == program && og.MykeyId == id {
			pp.OverGrants = append(pp.OverGrants, og)
		}
	}
	if !grants {
		return pp, nil
	}
	var scopes []Scope
	for v := range providers {
		scopes = append(scopes, Scope{Program: program, Provider: v})
	}
	sort.Slice(scopes, func(i, j int) bool { return scopes[i].Provider < scopes[j].Provider })
	scan, err := ScanGrants(ctx, src, pp.TotalsHeight, scopes, Filter{MyKeys: ids, Rejected: true}, nil, func(g *Grant) error {
		if len(pp.Grants) < maxPersonGrants {
			pp.Grants = append(pp.Grants, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pp.Scan = scan
	return pp, nil
}

// linkEvents reads the history of the linkage record of (program, id),
// proved with the record; none if there is no record.
func linkEvents(ctx context.Context, src Source, program, id string) ([]*types.LinkEvent, error) {
	r, err := src.Get(ctx, types.PrefixLink+program+"/"+id)
	if err != nil || r.Value == nil {
		return nil, err
	}
	var l types.Linkage
	if err := decode(*r, &l); err != nil {
		return nil, err
	}
	return l.History, nil
}
