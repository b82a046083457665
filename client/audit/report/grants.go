package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
)

// Grant is one verified grant record: a grant, or a charge the ledger
// rejected (Code != 0), recorded with nothing granted so that its
// reference cannot be replayed.
type Grant struct {
	Key string
	types.GrantRecord
	ProvedAt int64 // the height of the page that proved it
}

// IsRejected reports whether the record is a rejected charge, not a grant.
func (g *Grant) IsRejected() bool { return g.Code != 0 }

// Reason names the code a rejected charge was rejected with ("" for a
// grant).
func (g *Grant) Reason() string {
	if g.Code == 0 {
		return ""
	}
	if n := types.CodeName(g.Code); n != "" {
		return n
	}
	return fmt.Sprintf("code %d", g.Code)
}

// Scope is a set of grants a scan reads and checks in full: every grant
// (zero Scope), one program's, or one provider's in one program.
type Scope struct {
	Program, Provider string
}

// Prefix is the store key prefix of the scope's grant records.
func (s Scope) Prefix() string {
	switch {
	case s.Program == "":
		return types.PrefixCharge
	case s.Provider == "":
		return types.PrefixCharge + s.Program + "/"
	}
	return types.PrefixCharge + s.Program + "/" + s.Provider + "/"
}

// All reports whether the scope is every grant.
func (s Scope) All() bool { return s.Program == "" }

// Covers reports whether the scope holds every grant of (program, provider).
func (s Scope) Covers(program, provider string) bool {
	return s.Program == "" || (s.Program == program && (s.Provider == "" || s.Provider == provider))
}

func (s Scope) String() string {
	switch {
	case s.Program == "":
		return "all grants"
	case s.Provider == "":
		return "program " + s.Program
	}
	return "provider " + s.Provider + " in program " + s.Program
}

// Filter selects which of the scanned grants are handed on; the scan still
// reads and checks its whole scope.
type Filter struct {
	// Since and Until bound the grant's record time (block time, Unix
	// seconds): Since <= time < Until; 0 leaves a side open.
	Since, Until int64
	// Program and Provider keep one program's or provider's grants.
	Program, Provider string
	// MyKeys, if not empty, keeps the grants to these MyKey IDs.
	MyKeys map[string]bool
	// Query keeps grants whose charge reference, MyKey ID, program or
	// provider contains it (case-insensitive).
	Query string
	// Rejected also hands on the rejected charges the ledger recorded
	// (Code != 0, nothing granted) that pass the filter. They are never
	// counted as grants.
	Rejected bool
}

// Match reports whether g passes the filter.
func (f Filter) Match(g *types.GrantRecord) bool {
	switch {
	case f.Since != 0 && g.Time < f.Since,
		f.Until != 0 && g.Time >= f.Until,
		f.Program != "" && g.ProgramId != f.Program,
		f.Provider != "" && g.ProviderId != f.Provider,
		len(f.MyKeys) > 0 && !f.MyKeys[g.MykeyId]:
		return false
	case f.Query == "":
		return true
	}
	q := strings.ToLower(f.Query)
	for _, s := range []string{g.ChargeRef, g.MykeyId, g.ProgramId, g.ProviderId} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// Pair names one provider in one program.
type Pair struct{ Program, Provider string }

// Sum is a count of grants and their yen.
type Sum struct{ Grants, Yen int64 }

// Problem is a record whose content disagrees with what proved it.
type Problem struct {
	Key    string
	Detail string
}

// maxProblems bounds the problems a scan keeps (it counts them all).
const maxProblems = 100

// Scan is what a grant scan read.
type Scan struct {
	Cutoff int64   // grants recorded after this height are left out
	Scopes []Scope // what was read in full
	Pages  int
	Read   int64 // records read
	Later  int64 // recorded after the cutoff, left out
	// Rejected are the rejected charges recorded at or before the cutoff:
	// read and checked, never counted as grants.
	Rejected int64
	Kept     int64 // grants recorded at or before the cutoff
	Passed   int64 // of those, passed the filter and handed on
	Total    Sum   // of the kept grants
	Pairs    map[Pair]*Sum
	// FirstHeight and LastHeight are the heights pages were proved at.
	FirstHeight, LastHeight int64
	Problems                []Problem
	ProblemCount            int
}

func (s *Scan) problem(key, format string, args ...any) {
	s.ProblemCount++
	if len(s.Problems) < maxProblems {
		s.Problems = append(s.Problems, Problem{Key: key, Detail: fmt.Sprintf(format, args...)})
	}
}

// Progress is called after each page.
type Progress func(s *Scan)

// ScanGrants reads every grant in the scopes, verified page by page, keeps
// those recorded at or before cutoff, and hands those passing filter to
// emit in key order. Memory is bounded by a few pages: a fetcher stays at
// most pipelineDepth pages ahead of verification.
func ScanGrants(ctx context.Context, src Source, cutoff int64, scopes []Scope, filter Filter, progress Progress, emit func(*Grant) error) (*Scan, error) {
	s := &Scan{Cutoff: cutoff, Scopes: scopes, Pairs: map[Pair]*Sum{}}
	for _, scope := range scopes {
		if err := s.scan(ctx, src, scope, filter, progress, emit); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (s *Scan) scan(ctx context.Context, src Source, scope Scope, filter Filter, progress Progress, emit func(*Grant) error) error {
	return readPages(ctx, src, scope.Prefix(), func(page *lightverify.Page) error {
		s.Pages++
		if s.FirstHeight == 0 {
			s.FirstHeight = page.Height
		}
		s.LastHeight = page.Height
		for i := range page.Records {
			if err := s.record(src, &page.Records[i], filter, emit); err != nil {
				return err
			}
		}
		if progress != nil {
			progress(s)
		}
		return nil
	})
}

func (s *Scan) record(src Source, r *lightverify.Record, filter Filter, emit func(*Grant) error) error {
	s.Read++
	g := &Grant{Key: r.Key, ProvedAt: r.Height}
	if err := decode(*r, &g.GrantRecord); err != nil {
		return err
	}
	if want := types.PrefixCharge + g.ProgramId + "/" + g.ProviderId + "/" + g.ChargeRef; want != r.Key {
		s.problem(r.Key, "the record names program %q, provider %q, charge %q", g.ProgramId, g.ProviderId, g.ChargeRef)
	}
	if src.Verified() && (g.GrantedYen < 0 || r.Weight != uint64(g.GrantedYen)) {
		s.problem(r.Key, "granted_yen is %d but the record's weight in the state root is %d", g.GrantedYen, r.Weight)
	}
	if g.Height > s.Cutoff {
		s.Later++
		return nil
	}
	if g.IsRejected() {
		if g.GrantedYen != 0 {
			s.problem(r.Key, "a charge rejected with code %d records %d yen granted", g.Code, g.GrantedYen)
		}
		s.Rejected++
		if filter.Rejected && filter.Match(&g.GrantRecord) && emit != nil {
			return emit(g)
		}
		return nil
	}
	s.Kept++
	s.Total.Grants++
	s.Total.Yen += g.GrantedYen
	p := Pair{g.ProgramId, g.ProviderId}
	sum := s.Pairs[p]
	if sum == nil {
		sum = &Sum{}
		s.Pairs[p] = sum
	}
	sum.Grants++
	sum.Yen += g.GrantedYen
	if !filter.Match(&g.GrantRecord) {
		return nil
	}
	s.Passed++
	if emit != nil {
		return emit(g)
	}
	return nil
}

// readPages reads the range under prefix in full: it fetches every page
// in order, verifies each and hands it to fn, and at the end checks that
// the node gave every record its proved count says the range holds
// (lightverify.Tally), so that a node leaving records out is caught.
func readPages(ctx context.Context, src Source, prefix string, fn func(*lightverify.Page) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tally := lightverify.NewTally(src.Node(), prefix)
	for pr := range fetchPages(ctx, src, prefix) {
		if pr.err != nil {
			return pr.err
		}
		page, err := src.VerifyPage(ctx, pr.raw)
		if err != nil {
			return err
		}
		tally.Add(page)
		if err := fn(page); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return tally.Check()
}

// pipelineDepth is how many fetched pages may wait for verification.
const pipelineDepth = 2

type pageResult struct {
	raw *lightverify.RawPage
	err error
}

// fetchPages fetches the pages under prefix in order, ahead of the
// consumer by at most pipelineDepth pages. Cancel ctx to stop it early.
func fetchPages(ctx context.Context, src Source, prefix string) <-chan pageResult {
	out := make(chan pageResult, pipelineDepth)
	go func() {
		defer close(out)
		cursor := ""
		for {
			raw, err := src.Fetch(ctx, prefix, cursor, lightverify.MaxPage)
			select {
			case out <- pageResult{raw, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || raw.Next() == "" {
				return
			}
			cursor = raw.Next()
		}
	}()
	return out
}
