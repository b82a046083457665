package report

import (
	"fmt"
	"sort"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

// Mismatch is one check that failed, with the records involved.
type Mismatch struct {
	Check   string   `json:"check"`
	Records []string `json:"records"`
	Detail  string   `json:"detail"`
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: %s [%s]", m.Check, m.Detail, joinKeys(m.Records))
}

func joinKeys(keys []string) string {
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += k
	}
	return s
}

// Reconcile checks the totals against each other and, if scan is not nil,
// against the grants scanned with cutoff t.Height:
//
//   - the total granted the app hash commits to equals the sum of the
//     grants (for a scan of every grant), the sum of the program totals
//     and the sum of the daily records;
//   - each program's and each provider's totals (granted, grants) equal
//     the sums of their daily records;
//   - each program's totals equal the sums of its providers' totals
//     (granted, grants, people linked), and it granted at most its budget;
//   - each provider's granted yen and grant count equal its scanned grants,
//     settled <= granted, settled + recovered <= granted, and recovered
//     equals its over-grants;
//   - each grant record agrees with its key and its weight in the root.
//
// It returns the mismatches, empty when everything agrees.
func Reconcile(t *Totals, scan *Scan) []Mismatch {
	var out []Mismatch
	add := func(check string, records []string, format string, args ...any) {
		out = append(out, Mismatch{Check: check, Records: records, Detail: fmt.Sprintf(format, args...)})
	}
	root := fmt.Sprintf("app hash of height %d", t.Height)
	if scan != nil && scan.Cutoff != t.Height {
		add("cutoff", []string{root}, "grants were cut off at height %d, the totals are of height %d", scan.Cutoff, t.Height)
	}
	if got := t.GrantedYen(); got < 0 || uint64(got) != t.RootSum {
		add("root = program totals", []string{root, types.PrefixProgramTotals + "*"},
			"the state root commits to %d yen granted, the program totals add up to %d yen", t.RootSum, got)
	}
	if got := t.DailyYen(); got < 0 || uint64(got) != t.RootSum {
		add("root = daily", []string{root, types.PrefixDaily + "*"},
			"the state root commits to %d yen granted, the daily records add up to %d yen", t.RootSum, got)
	}
	checkDaily(t, add)
	if scan != nil && len(scan.Scopes) == 1 && scan.Scopes[0].All() {
		if scan.Total.Yen < 0 || uint64(scan.Total.Yen) != t.RootSum {
			add("root = grants", []string{root, types.PrefixCharge + "*"},
				"the state root commits to %d yen granted, the %d grant records recorded by height %d add up to %d yen (%+d)",
				t.RootSum, scan.Total.Grants, t.Height, scan.Total.Yen, scan.Total.Yen-int64(t.RootSum))
		}
	}
	for _, p := range t.Programs {
		pk := types.PrefixProgramTotals + p.ID
		var granted, grants, linked int64
		for _, v := range p.Providers {
			granted += v.Totals.GrantedYen
			grants += v.Totals.Grants
			linked += v.Totals.Linked
		}
		if granted != p.Totals.GrantedYen || grants != p.Totals.Grants || linked != p.Totals.Linked {
			add("program = providers", []string{pk, types.PrefixProviderTotals + p.ID + "/*"},
				"program %s totals say %d yen, %d grants, %d linked; its providers' add up to %d yen, %d grants, %d linked",
				p.ID, p.Totals.GrantedYen, p.Totals.Grants, p.Totals.Linked, granted, grants, linked)
		}
		if p.Program == nil {
			add("program exists", []string{pk}, "totals for program %s, which is not defined", p.ID)
		} else if p.Totals.GrantedYen > p.Program.BudgetYen {
			add("granted <= budget", []string{pk, types.PrefixProgram + p.ID},
				"program %s granted %d yen of a %d yen budget", p.ID, p.Totals.GrantedYen, p.Program.BudgetYen)
		}
		for _, v := range p.Providers {
			checkProvider(t, scan, v, add)
		}
	}
	if scan != nil {
		checkScanned(t, scan, add)
		for _, pr := range scan.Problems {
			add("grant record", []string{pr.Key}, "%s", pr.Detail)
		}
		if n := scan.ProblemCount - len(scan.Problems); n > 0 {
			add("grant record", []string{types.PrefixCharge + "*"}, "%d more grant records disagree with their keys or weights", n)
		}
	}
	return out
}

func checkProvider(t *Totals, scan *Scan, v *ProviderView, add func(string, []string, string, ...any)) {
	k := v.Key()
	tt := v.Totals
	if tt.SettledYen > tt.GrantedYen {
		add("settled <= granted", []string{k}, "provider %s in program %s was settled %d yen but granted only %d yen", v.Provider, v.Program, tt.SettledYen, tt.GrantedYen)
	}
	if tt.SettledYen < 0 || tt.RecoveredYen < 0 || v.Outstanding() < 0 {
		add("outstanding >= 0", []string{k}, "provider %s in program %s: granted %d, settled %d, recovered %d leave %d yen outstanding",
			v.Provider, v.Program, tt.GrantedYen, tt.SettledYen, tt.RecoveredYen, v.Outstanding())
	}
	var over int64
	for _, og := range t.OverGrants {
		if og.ProgramId == v.Program && og.ProviderId == v.Provider {
			over += og.AmountYen
		}
	}
	if over != tt.RecoveredYen {
		add("recovered = over-grants", []string{k, types.PrefixOverGrant + v.Program + "/" + v.Provider + "/*"},
			"provider %s in program %s: recovered %d yen, over-grants recorded add up to %d yen", v.Provider, v.Program, tt.RecoveredYen, over)
	}
	if scan == nil || !covered(scan, v.Program, v.Provider) {
		return
	}
	got := Sum{}
	if s := scan.Pairs[Pair{v.Program, v.Provider}]; s != nil {
		got = *s
	}
	if got.Yen != tt.GrantedYen || got.Grants != tt.Grants {
		add("provider = grants", []string{k, types.PrefixCharge + v.Program + "/" + v.Provider + "/*"},
			"provider %s in program %s: totals say %d yen in %d grants, its grant records recorded by height %d add up to %d yen in %d grants",
			v.Provider, v.Program, tt.GrantedYen, tt.Grants, scan.Cutoff, got.Yen, got.Grants)
	}
}

// checkDaily compares the daily records with the program and provider
// totals, and finds daily records of providers that have no totals.
func checkDaily(t *Totals, add func(string, []string, string, ...any)) {
	byProg := map[string]*Sum{}
	byPair := map[Pair]*Sum{}
	var pairs []Pair
	for _, d := range t.Days {
		if _, err := time.Parse(time.DateOnly, d.Day); err != nil || d.Grants <= 0 || d.GrantedYen < 0 {
			add("daily record", []string{d.Key}, "daily record of %q holds %d yen in %d grants", d.Day, d.GrantedYen, d.Grants)
		}
		if byProg[d.Program] == nil {
			byProg[d.Program] = &Sum{}
		}
		byProg[d.Program].Grants += d.Grants
		byProg[d.Program].Yen += d.GrantedYen
		p := Pair{d.Program, d.Provider}
		if byPair[p] == nil {
			byPair[p] = &Sum{}
			pairs = append(pairs, p)
		}
		byPair[p].Grants += d.Grants
		byPair[p].Yen += d.GrantedYen
	}
	for _, p := range t.Programs {
		got := Sum{}
		if s := byProg[p.ID]; s != nil {
			got = *s
		}
		if got.Yen != p.Totals.GrantedYen || got.Grants != p.Totals.Grants {
			add("program = daily", []string{types.PrefixProgramTotals + p.ID, types.PrefixDaily + p.ID + "/*"},
				"program %s totals say %d yen in %d grants, its daily records add up to %d yen in %d grants",
				p.ID, p.Totals.GrantedYen, p.Totals.Grants, got.Yen, got.Grants)
		}
		for _, v := range p.Providers {
			got := Sum{}
			if s := byPair[Pair{v.Program, v.Provider}]; s != nil {
				got = *s
			}
			if got.Yen != v.Totals.GrantedYen || got.Grants != v.Totals.Grants {
				add("provider = daily", []string{v.Key(), types.PrefixDaily + v.Program + "/" + v.Provider + "/*"},
					"provider %s in program %s: totals say %d yen in %d grants, its daily records add up to %d yen in %d grants",
					v.Provider, v.Program, v.Totals.GrantedYen, v.Totals.Grants, got.Yen, got.Grants)
			}
		}
	}
	// t.Days are in key order, so pairs are sorted.
	for _, p := range pairs {
		if t.ProviderIn(p.Program, p.Provider) == nil {
			s := byPair[p]
			add("daily have totals", []string{types.PrefixDaily + p.Program + "/" + p.Provider + "/*", types.PrefixProviderTotals + p.Program + "/" + p.Provider},
				"%d grants (%d yen) on daily records of provider %s in program %s, which has no totals", s.Grants, s.Yen, p.Provider, p.Program)
		}
	}
}

// checkScanned finds scanned grants of providers that have no totals.
func checkScanned(t *Totals, scan *Scan, add func(string, []string, string, ...any)) {
	pairs := make([]Pair, 0, len(scan.Pairs))
	for p := range scan.Pairs {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].Program != pairs[j].Program {
			return pairs[i].Program < pairs[j].Program
		}
		return pairs[i].Provider < pairs[j].Provider
	})
	for _, p := range pairs {
		if t.ProviderIn(p.Program, p.Provider) == nil {
			s := scan.Pairs[p]
			add("grants have totals", []string{types.PrefixCharge + p.Program + "/" + p.Provider + "/*", types.PrefixProviderTotals + p.Program + "/" + p.Provider},
				"%d grants (%d yen) of provider %s in program %s, which has no totals", s.Grants, s.Yen, p.Provider, p.Program)
		}
	}
}

func covered(scan *Scan, program, provider string) bool {
	for _, s := range scan.Scopes {
		if s.Covers(program, provider) {
			return true
		}
	}
	return false
}
