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

// ProviderReportJSON is `audit provider --json`.
type ProviderReportJSON struct {
	Proof      Proof                 `json:"proof"`
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Status     string                `json:"status"`
	Power      int64                 `json:"power"`
	Programs   []ProviderProgramJSON `json:"programs"`
	Daily      []DayJSON             `json:"daily,omitempty"`
	OverGrants []OverGrantJSON       `json:"over_grants"`
	History    []*report.HistoryItem `json:"history"`
	Mismatches []report.Mismatch     `json:"mismatches"`
}

// ProviderProgramJSON is a provider's figures in one program.
type ProviderProgramJSON struct {
	Program string `json:"program"`
	ProviderJSON
}

// DayJSON is one day's grants (the day they were recorded, JST), from the
// daily records.
type DayJSON struct {
	Program    string `json:"program"`
	Day        string `json:"day"`
	Grants     int64  `json:"grants"`
	GrantedYen int64  `json:"granted_yen"`
}

// OverGrantJSON is one over-grant to recover.
type OverGrantJSON struct {
	Key       string `json:"key"`
	Program   string `json:"program"`
	Provider  string `json:"provider"`
	MyKeyID   string `json:"mykey_id"`
	AmountYen int64  `json:"amount_yen"`
	Height    int64  `json:"height"`
	Reference string `json:"reference"`
}

func overGrantJSON(og *report.OverGrantView) OverGrantJSON {
	return OverGrantJSON{Key: og.Key, Program: og.ProgramId, Provider: og.ProviderId, MyKeyID: og.MykeyId,
		AmountYen: og.AmountYen, Height: og.Height, Reference: og.Reference}
}

// ProviderStatus names a provider status.
func ProviderStatus(s types.ProviderStatus) string { return s.Name() }

// MentionsProvider reports whether a history item concerns provider.
func MentionsProvider(it *report.HistoryItem, provider string) bool {
	return it.Provider == provider || strings.Contains(it.Summary, `"`+provider+`"`)
}

func newProviderCmd(f *flags) *cobra.Command {
	var noDaily bool
	cmd := &cobra.Command{
		Use:   "provider ID",
		Short: "One provider: totals per program, grants per day, over-grants, history",
		Long: `provider shows one provider's totals in every program and its grants per
day (the daily records, which must add up to its totals), all proved at
one height, the over-grants to recover from it, and the government actions
naming it. --no-daily leaves the days out of the output.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx := cmd.Context()
			c, t, err := f.openTotals(ctx)
			if err != nil {
				return err
			}
			p := t.Provider(id)
			if p == nil {
				return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("audit: no provider %q at height %d", id, t.Height)}
			}
			out := ProviderReportJSON{Proof: proofOf(c, t.Height, t.AppHash), ID: p.Id, Name: p.Name, Status: ProviderStatus(p.Status), Power: p.Power,
				OverGrants: []OverGrantJSON{}, History: []*report.HistoryItem{}, Mismatches: []report.Mismatch{}}
			for _, prog := range t.Programs {
				if v := t.ProviderIn(prog.ID, id); v != nil {
					out.Programs = append(out.Programs, ProviderProgramJSON{Program: prog.ID, ProviderJSON: providerJSON(v)})
				}
			}
			for _, og := range t.OverGrants {
				if og.ProviderId == id {
					out.OverGrants = append(out.OverGrants, overGrantJSON(og))
				}
			}
			h, err := report.ReadHistory(ctx, c, t)
			if err != nil {
				return classify(err)
			}
			for _, it := range h.Items {
				if MentionsProvider(it, id) {
					out.History = append(out.History, it)
				}
			}
			out.Mismatches = append(out.Mismatches, h.Missing...)
			// The daily records and totals of one height reconcile, or
			// the provider's figures are not to be relied on.
			for _, m := range report.Reconcile(t, nil) {
				for _, k := range m.Records {
					if strings.HasPrefix(k, types.PrefixDaily) || strings.HasPrefix(k, types.PrefixProviderTotals) {
						if strings.Contains(k, "/"+id+"/") || strings.HasSuffix(k, "/"+id) {
							out.Mismatches = append(out.Mismatches, m)
							break
						}
					}
				}
			}
			for _, d := range t.Days {
				if d.Provider == id && !noDaily {
					out.Daily = append(out.Daily, DayJSON{Program: d.Program, Day: d.Day, Grants: d.Grants, GrantedYen: d.GrantedYen})
				}
			}
			if err := f.report(c, t.Height, out, func(w io.Writer) { writeProvider(w, &out, noDaily) }); err != nil {
				return err
			}
			if len(out.Mismatches) > 0 {
				return mismatch("audit: provider %s: %d mismatches at height %d; first: %s", id, len(out.Mismatches), t.Height, out.Mismatches[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noDaily, "no-daily", false, "leave the grants per day out of the output")
	return cmd
}

func writeProvider(w io.Writer, r *ProviderReportJSON, noDaily bool) {
	fmt.Fprintf(w, "\nProvider %s (%s), %s, validator power %d\n\n", r.ID, r.Name, r.Status, r.Power)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PROGRAM\t"+figuresHeader)
	for _, p := range r.Programs {
		p.writeRow(tw, p.Program)
	}
	tw.Flush()
	if !noDaily {
		fmt.Fprintf(w, "\nGrants per day (JST), from the daily records:\n")
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "PROGRAM\tDAY\tGRANTS\tGRANTED ¥\t")
		for _, d := range r.Daily {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t\n", d.Program, d.Day, d.Grants, report.Yen(d.GrantedYen))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nOver-grants to recover: %d\n", len(r.OverGrants))
	for _, og := range r.OverGrants {
		fmt.Fprintf(w, "  %s  MyKey %s  ¥%s  height %d  %s\n", og.Program, og.MyKeyID, report.Yen(og.AmountYen), og.Height, og.Reference)
	}
	writeHistoryNaming(w, r.ID, r.History, r.Mismatches)
}
