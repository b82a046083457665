package report

import (
	"context"
	"strings"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
)

// PersonRow is one person's standing in one program, from the public
// records: totals against the cap and the provider linked to. It holds no
// charge: no amount, time or reference.
type PersonRow struct {
	Program    string
	MyKeyID    string
	Provider   string // "" when no linkage is recorded
	LinkStatus string // "active", "voided", "none"
	types.PersonTotals
	// CapLeftYen is the cap less what the person keeps (granted less
	// recovered), under the program's cap at the totals' height.
	CapLeftYen int64
	Height     int64 // the height the person record was proved at
}

// PersonScan is what a scan of the person records read.
type PersonScan struct {
	Rows                    int64
	Pages                   int
	FirstHeight, LastHeight int64
}

// ScanPersons reads every person record of program ("": every program)
// joined with the person's linkage, verified page by page, and hands each
// to emit in key order (program, MyKey ID). People linked who were never
// granted anything (no person record) are handed on too, with zero
// totals. Both ranges are read in full and count-checked (person and
// linkage records can be deleted by a merge, so pages of several heights
// are checked by their proofs alone). Memory is bounded by a few pages.
func ScanPersons(ctx context.Context, src Source, t *Totals, program string, emit func(*PersonRow) error) (*PersonScan, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir := ""
	if program != "" {
		dir = program + "/"
	}
	persons := newRangeIter(ctx, src, types.PrefixPerson+dir)
	links := newRangeIter(ctx, src, types.PrefixLink+dir)
	s := &PersonScan{}
	p, err := persons.next()
	if err != nil {
		return s, err
	}
	l, err := links.next()
	if err != nil {
		return s, err
	}
	for p != nil || l != nil {
		var pk, lk string
		if p != nil {
			pk = strings.TrimPrefix(p.Key, types.PrefixPerson)
		}
		if l != nil {
			lk = strings.TrimPrefix(l.Key, types.PrefixLink)
		}
		row := &PersonRow{LinkStatus: "none"}
		var key string
		switch {
		case l == nil || (p != nil && pk < lk):
			key = pk
		case p == nil || lk < pk:
			key = lk
		default:
			key = pk
		}
		prog, id, _ := strings.Cut(key, "/")
		row.Program, row.MyKeyID = prog, id
		if p != nil && pk == key {
			if err := decode(*p, &row.PersonTotals); err != nil {
				return s, err
			}
			row.Height = p.Height
			if p, err = persons.next(); err != nil {
				return s, err
			}
		}
		if l != nil && lk == key {
			var link types.Linkage
			if err := decode(*l, &link); err != nil {
				return s, err
			}
			row.Provider, row.LinkStatus = link.ProviderId, types.LinkStatusOf(&link)
			if row.Height == 0 {
				row.Height = l.Height
			}
			if l, err = links.next(); err != nil {
				return s, err
			}
		}
		if pv := t.Program(row.Program); pv != nil && pv.Program != nil {
			row.CapLeftYen = pv.Program.CapYen - (row.GrantedYen - row.RecoveredYen)
		}
		s.Rows++
		if s.FirstHeight == 0 || row.Height < s.FirstHeight {
			s.FirstHeight = row.Height
		}
		s.LastHeight = max(s.LastHeight, row.Height)
		if err := emit(row); err != nil {
			return s, err
		}
	}
	s.Pages = persons.tally.Pages + links.tally.Pages
	return s, nil
}

// rangeIter reads the range under a prefix in full, record by record,
// each page verified, and checks its count at the end (see readPages).
type rangeIter struct {
	ctx   context.Context
	src   Source
	pages <-chan pageResult
	tally *lightverify.Tally
	page  *lightverify.Page
	i     int
	done  bool
}

func newRangeIter(ctx context.Context, src Source, prefix string) *rangeIter {
	return &rangeIter{ctx: ctx, src: src, pages: fetchPages(ctx, src, prefix), tally: lightverify.NewTally(src.Node(), prefix)}
}

// next returns the next record, or nil at the end of a complete range.
func (it *rangeIter) next() (*lightverify.Record, error) {
	for !it.done {
		if it.page != nil && it.i < len(it.page.Records) {
			it.i++
			return &it.page.Records[it.i-1], nil
		}
		pr, ok := <-it.pages
		if !ok {
			it.done = true
			if err := it.ctx.Err(); err != nil {
				return nil, err
			}
			return nil, it.tally.Check()
		}
		if pr.err != nil {
			return nil, pr.err
		}
		page, err := it.src.VerifyPage(it.ctx, pr.raw)
		if err != nil {
			return nil, err
		}
		it.tally.Add(page)
		it.page, it.i = page, 0
	}
	return nil, nil
}
