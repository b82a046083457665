package report

import (
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

// ledger builds a consistent set of totals and the scan of its grants:
// program p with providers a (3 grants, 600 yen, 100 settled) and b
// (1 grant, 50 yen, 20 recovered by an over-grant).
func ledger() (*Totals, *Scan) {
	t := &Totals{Height: 10, RootSum: 650, Gov: types.GovState{NextSequence: 1}}
	pv := &ProgramView{ID: "p", Program: &types.Program{Id: "p", BudgetYen: 1000},
		Totals: types.ProgramTotals{GrantedYen: 650, Grants: 4, Linked: 3}}
	pv.Providers = []*ProviderView{
		{Program: "p", Provider: "a", Totals: types.ProviderTotals{GrantedYen: 600, SettledYen: 100, Grants: 3, Linked: 2}},
		{Program: "p", Provider: "b", Totals: types.ProviderTotals{GrantedYen: 50, RecoveredYen: 20, Grants: 1, Linked: 1}},
	}
	t.Programs = []*ProgramView{pv}
	t.OverGrants = []*OverGrantView{{Key: "overgrant/p/b/0000000000000001", OverGrant: types.OverGrant{ProgramId: "p", ProviderId: "b", AmountYen: 20}}}
	day := func(provider, d string, yen, grants int64) *DayView {
		return &DayView{Key: "daily/p/" + provider + "/" + d, Program: "p", Provider: provider, Day: d,
			DailyTotals: types.DailyTotals{GrantedYen: yen, Grants: grants}}
	}
	t.Days = []*DayView{day("a", "2025-04-01", 400, 2), day("a", "2025-04-02", 200, 1), day("b", "2025-04-02", 50, 1)}
	s := &Scan{Cutoff: 10, Scopes: []Scope{{}}, Total: Sum{Grants: 4, Yen: 650},
		Pairs: map[Pair]*Sum{{"p", "a"}: {Grants: 3, Yen: 600}, {"p", "b"}: {Grants: 1, Yen: 50}}}
	return t, s
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Totals, *Scan)
		check   string // "" = no mismatch
		naming  string
		partial bool // the scan covers provider a only
	}{
		{name: "consistent"},
		{name: "provider granted altered", change: func(t *Totals, _ *Scan) { t.Programs[0].Providers[0].Totals.GrantedYen += 7 },
			check: "provider = grants", naming: "providertotals/p/a"},
		{name: "program granted altered", change: func(t *Totals, _ *Scan) { t.Programs[0].Totals.GrantedYen++ },
			check: "program = providers", naming: "programtotals/p"},
		{name: "hidden grant", change: func(_ *Totals, s *Scan) { s.Total = Sum{3, 640}; s.Pairs[Pair{"p", "a"}] = &Sum{2, 590} },
			check: "root = grants", naming: "charge/*"},
		{name: "settled above granted", change: func(t *Totals, _ *Scan) { t.Programs[0].Providers[1].Totals.SettledYen = 60 },
			check: "settled <= granted", naming: "providertotals/p/b"},
		{name: "over-grant missing", change: func(t *Totals, _ *Scan) { t.OverGrants = nil },
			check: "recovered = over-grants", naming: "overgrant/p/b/*"},
		{name: "root differs from programs", change: func(t *Totals, _ *Scan) { t.RootSum = 651 },
			check: "root = program totals", naming: "app hash of height 10"},
		{name: "over budget", change: func(t *Totals, _ *Scan) { t.Programs[0].Program.BudgetYen = 600 },
			check: "granted <= budget", naming: "program/p"},
		{name: "grant without totals", change: func(_ *Totals, s *Scan) {
			s.Pairs[Pair{"p", "c"}] = &Sum{1, 5}
			s.Total = Sum{5, 655}
		}, check: "grants have totals", naming: "providertotals/p/c"},
		{name: "record disagrees with its weight", change: func(_ *Totals, s *Scan) {
			s.problem("charge/p/a/r1", "granted_yen is 5 but the record's weight in the state root is 6")
		},
			check: "grant record", naming: "charge/p/a/r1"},
		{name: "partial scan ignores other providers", partial: true, change: func(t *Totals, s *Scan) {
			t.Programs[0].Providers[1].Totals.Grants = 99 // b is not scanned...
			t.Programs[0].Totals.Grants = 102             // ...and the program agrees with it
			t.Days[2].Grants = 99                         // ...and so does its day
		}},
		{name: "daily record altered", change: func(t *Totals, _ *Scan) { t.Days[1].GrantedYen += 5 },
			check: "provider = daily", naming: "daily/p/a/*"},
		{name: "daily record hidden", change: func(t *Totals, _ *Scan) { t.Days = t.Days[1:] },
			check: "root = daily", naming: "daily/*"},
		{name: "daily count altered", change: func(t *Totals, _ *Scan) { t.Days[2].Grants = 2 },
			check: "program = daily", naming: "programtotals/p"},
		{name: "daily without totals", change: func(t *Totals, _ *Scan) {
			t.Days = append(t.Days, &DayView{Key: "daily/p/c/2025-04-02", Program: "p", Provider: "c", Day: "2025-04-02", DailyTotals: types.DailyTotals{GrantedYen: 0, Grants: 1}})
		}, check: "daily have totals", naming: "providertotals/p/c"},
		{name: "daily record of no day", change: func(t *Totals, _ *Scan) { t.Days[0].Day = "someday" },
			check: "daily record", naming: "daily/p/a/2025-04-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt, s := ledger()
			if tc.partial {
				s.Scopes = []Scope{{Program: "p", Provider: "a"}}
				delete(s.Pairs, Pair{"p", "b"})
			}
			if tc.change != nil {
				tc.change(tt, s)
			}
			ms := Reconcile(tt, s)
			if tc.check == "" {
				if len(ms) != 0 {
					t.Fatalf("mismatches: %v", ms)
				}
				return
			}
			for _, m := range ms {
				if m.Check == tc.check && strings.Contains(strings.Join(m.Records, " "), tc.naming) {
					return
				}
			}
			t.Fatalf("no %q mismatch naming %s in %v", tc.check, tc.naming, ms)
		})
	}
}

func TestFilterAndScope(t *testing.T) {
	g := &types.GrantRecord{ProgramId: "spring", ProviderId: "paypay", ChargeRef: "Ref-42", MykeyId: "ABCDEFGH", Time: 1000}
	tests := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Since: 1000}, true},
		{Filter{Since: 1001}, false},
		{Filter{Until: 1000}, false},
		{Filter{Until: 1001}, true},
		{Filter{Provider: "linepay"}, false},
		{Filter{Program: "spring", Provider: "paypay"}, true},
		{Filter{Query: "ref-4"}, true},
		{Filter{Query: "cdef"}, true},
		{Filter{Query: "nothing"}, false},
		{Filter{MyKeys: map[string]bool{"ABCDEFGH": true}}, true},
		{Filter{MyKeys: map[string]bool{"XXXXXXXX": true}}, false},
	}
	for _, tc := range tests {
		if got := tc.f.Match(g); got != tc.want {
			t.Errorf("%+v.Match = %v, want %v", tc.f, got, tc.want)
		}
	}
	for s, prefix := range map[Scope]string{{}: "charge/", {Program: "p"}: "charge/p/", {Program: "p", Provider: "v"}: "charge/p/v/"} {
		if s.Prefix() != prefix {
			t.Errorf("%v prefix %q, want %q", s, s.Prefix(), prefix)
		}
	}
	if (Scope{Program: "p", Provider: "v"}).Covers("p", "w") || !(Scope{Program: "p"}).Covers("p", "w") {
		t.Error("Covers")
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", 1000000000000: "1,000,000,000,000"} {
		if got := Yen(n); got != want {
			t.Errorf("Yen(%d) = %q, want %q", n, got, want)
		}
	}
	// 2025-03-31T15:00:00Z is midnight of April 1st in Japan.
	if got := Day(1743433200); got != "2025-04-01" {
		t.Errorf("Day = %s", got)
	}
	if got := Day(1743433199); got != "2025-03-31" {
		t.Errorf("Day = %s", got)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	var b strings.Builder
	w, err := NewGrantWriter(&b, FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	in := &Grant{GrantRecord: types.GrantRecord{ProgramId: "p", ProviderId: "v", ChargeRef: `a,"b"`, MykeyId: "ABCDEFGH",
		AmountYen: 1234, GrantedYen: 308, ChargedAt: 1743433200, Height: 7, Time: 1743433260}}
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || lines[0] != strings.Join(CSVHeader, ",") {
		t.Fatalf("%q", b.String())
	}
	if lines[1] != `p,v,"a,""b""",ABCDEFGH,1234,308,2025-03-31T15:00:00Z,2025-03-31T15:01:00Z,7` {
		t.Errorf("row %s", lines[1])
	}
	out, err := ParseCSVRow([]string{"p", "v", `a,"b"`, "ABCDEFGH", "1234", "308", "2025-03-31T15:00:00Z", "2025-03-31T15:01:00Z", "7"})
	if err != nil || out.GrantRecord != in.GrantRecord || out.Key != `charge/p/v/a,"b"` {
		t.Errorf("%+v %v", out, err)
	}
	if _, err := ParseCSVRow([]string{"p"}); err == nil {
		t.Error("a short row parsed")
	}
}

func TestDaily(t *testing.T) {
	d := NewDaily()
	day := int64(1743433200) // 2025-04-01 00:00 JST
	d.Add(&Grant{GrantRecord: types.GrantRecord{ProviderId: "b", ChargedAt: day, GrantedYen: 5}})
	d.Add(&Grant{GrantRecord: types.GrantRecord{ProviderId: "a", ChargedAt: day + 2*86400 + 10, GrantedYen: 7}})
	d.Add(&Grant{GrantRecord: types.GrantRecord{ProviderId: "a", ChargedAt: day + 2*86400 + 20, GrantedYen: 1}})
	days := d.Days()
	if strings.Join(days, " ") != "2025-04-01 2025-04-02 2025-04-03" {
		t.Fatalf("days %v", days)
	}
	if got := d.Series("a", days); got[0] != (Sum{}) || got[2] != (Sum{Grants: 2, Yen: 8}) {
		t.Errorf("a: %v", got)
	}
	if strings.Join(d.Providers(), ",") != "a,b" {
		t.Errorf("providers %v", d.Providers())
	}
}
