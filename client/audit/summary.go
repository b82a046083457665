package audit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// SummaryJSON is `audit summary --json`.
type SummaryJSON struct {
	Proof Proof `json:"proof"`
	// RootGrantedYen is the total the state root commits to;
	// ProgramsGrantedYen the sum of the program totals, ProvidersGrantedYen
	// the sum of the provider totals and DailyGrantedYen the sum of the
	// daily records. They must agree, and with them every program's and
	// provider's totals with its daily records (Mismatches).
	RootGrantedYen      uint64            `json:"root_granted_yen"`
	ProgramsGrantedYen  int64             `json:"programs_granted_yen"`
	ProvidersGrantedYen int64             `json:"providers_granted_yen"`
	DailyGrantedYen     int64             `json:"daily_granted_yen"`
	Agree               bool              `json:"agree"`
	Mismatches          []report.Mismatch `json:"mismatches"`
	Programs            []ProgramJSON     `json:"programs"`
}

// ProgramJSON is one program's figures.
type ProgramJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	RateBP    int64  `json:"rate_bp,omitempty"`
	CapYen    int64  `json:"cap_yen"`
	FixedYen  int64  `json:"fixed_yen,omitempty"`
	BudgetYen int64  `json:"budget_yen"`
	FiguresJSON
	BudgetLeftYen int64          `json:"budget_left_yen"`
	Providers     []ProviderJSON `json:"providers"`
}

// ProviderJSON is one provider's figures in one program.
type ProviderJSON struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	FiguresJSON
}

// FiguresJSON are a program's or a provider's running figures.
type FiguresJSON struct {
	Linked         int64 `json:"linked"`
	Grants         int64 `json:"grants"`
	GrantedYen     int64 `json:"granted_yen"`
	SettledYen     int64 `json:"settled_yen"`
	RecoveredYen   int64 `json:"recovered_yen"`
	OutstandingYen int64 `json:"outstanding_yen"`
}

func programJSON(p *report.ProgramView) ProgramJSON {
	out := ProgramJSON{ID: p.ID, FiguresJSON: FiguresJSON{Linked: p.Totals.Linked, Grants: p.Totals.Grants, GrantedYen: p.Totals.GrantedYen,
		SettledYen: p.Settled(), RecoveredYen: p.Recovered(), OutstandingYen: p.Outstanding()}, BudgetLeftYen: p.BudgetLeft()}
	if d := p.Program; d != nil {
		out.Name, out.Kind, out.RateBP, out.CapYen, out.FixedYen, out.BudgetYen = d.Name, ProgramKind(d.Kind), d.RateBp, d.CapYen, d.FixedYen, d.BudgetYen
	}
	for _, v := range p.Providers {
		out.Providers = append(out.Providers, providerJSON(v))
	}
	return out
}

func providerJSON(v *report.ProviderView) ProviderJSON {
	return ProviderJSON{ID: v.Provider, Name: v.Name, FiguresJSON: FiguresJSON{Linked: v.Totals.Linked, Grants: v.Totals.Grants,
		GrantedYen: v.Totals.GrantedYen, SettledYen: v.Totals.SettledYen, RecoveredYen: v.Totals.RecoveredYen, OutstandingYen: v.Outstanding()}}
}

// ProgramKind names a program kind.
func ProgramKind(k types.ProgramKind) string { return k.Name() }

func newSummaryCmd(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "summary",
		Short: "Per program and provider: linked, grants, granted, settled, recovered, outstanding, budget left",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, t, err := f.openTotals(ctx)
			if err != nil {
				return err
			}
			ms := sums(report.Reconcile(t, nil))
			out := SummaryJSON{Proof: proofOf(c, t.Height, t.AppHash), RootGrantedYen: t.RootSum, ProgramsGrantedYen: t.GrantedYen(),
				ProvidersGrantedYen: providersGrantedYen(t), DailyGrantedYen: t.DailyYen(), Agree: len(ms) == 0, Mismatches: nonNil(ms)}
			for _, p := range t.Programs {
				out.Programs = append(out.Programs, programJSON(p))
			}
			if err := f.report(c, t.Height, out, func(w io.Writer) { fmt.Fprintln(w); writeSummary(w, &out) }); err != nil {
				return err
			}
			if !out.Agree {
				return mismatch("audit: the totals do not reconcile at height %d: %s (records %s)",
					t.Height, out.Mismatches[0].Detail, strings.Join(involved(out.Mismatches), ", "))
			}
			return nil
		},
	}
}

// providersGrantedYen is the sum of every provider's granted yen in
// every program.
func providersGrantedYen(t *report.Totals) (n int64) {
	for _, p := range t.Programs {
		for _, v := range p.Providers {
			n += v.Totals.GrantedYen
		}
	}
	return n
}

// sums keeps the mismatches that say the summary's own figures do not add
// up (reconcile checks the rest: settlements, recoveries, history).
func sums(ms []report.Mismatch) []report.Mismatch {
	var out []report.Mismatch
	for _, m := range ms {
		switch m.Check {
		case "root = program totals", "root = daily", "program = providers", "program = daily", "provider = daily", "daily have totals", "daily record":
			out = append(out, m)
		}
	}
	return out
}

func writeSummary(w io.Writer, s *SummaryJSON) {
	for _, p := range s.Programs {
		terms := ""
		switch p.Kind {
		case "percent_of_charge":
			terms = fmt.Sprintf("%s%% of each charge, cap ¥%s", bp(p.RateBP), report.Yen(p.CapYen))
		case "fixed":
			terms = fmt.Sprintf("¥%s per person", report.Yen(p.FixedYen))
		}
		fmt.Fprintf(w, "Program %s (%s): %s, budget ¥%s\n", p.ID, p.Name, terms, report.Yen(p.BudgetYen))
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "PROVIDER\t"+figuresHeader)
		for _, v := range p.Providers {
			v.writeRow(tw, v.ID)
		}
		p.writeRow(tw, "total")
		tw.Flush()
		fmt.Fprintf(w, "Budget left: ¥%s\n\n", report.Yen(p.BudgetLeftYen))
	}
	verdict := "matches the program totals, the provider totals and the daily records"
	if !s.Agree {
		verdict = fmt.Sprintf("program totals ¥%s, provider totals ¥%s, daily records ¥%s: DOES NOT RECONCILE",
			report.Yen(s.ProgramsGrantedYen), report.Yen(s.ProvidersGrantedYen), report.Yen(s.DailyGrantedYen))
	}
	fmt.Fprintf(w, "Total granted, committed to by the state root: ¥%s — %s\n", report.Yen(int64(s.RootGrantedYen)), verdict)
	writeMismatches(w, s.Mismatches)
}

// figuresHeader heads the columns FiguresJSON.writeRow writes, after the
// first.
const figuresHeader = "LINKED\tGRANTS\tGRANTED ¥\tSETTLED ¥\tRECOVERED ¥\tOUTSTANDING ¥\t"

// writeRow writes the figures as a table row named name, to a tabwriter.
func (v FiguresJSON) writeRow(w io.Writer, name string) {
	fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", name, v.Linked, v.Grants, report.Yen(v.GrantedYen),
		report.Yen(v.SettledYen), report.Yen(v.RecoveredYen), report.Yen(v.OutstandingYen))
}

// bp formats basis points as a percentage: 2500 → "25".
func bp(n int64) string {
	s := fmt.Sprintf("%d.%02d", n/100, n%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
