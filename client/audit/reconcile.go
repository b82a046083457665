package audit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit/report"
)

// ReconcileJSON is `audit reconcile --json`.
type ReconcileJSON struct {
	Proof          Proof  `json:"proof"`
	OK             bool   `json:"ok"`
	RootGrantedYen uint64 `json:"root_granted_yen"`
	ProgramsYen    int64  `json:"programs_granted_yen"`
	ProvidersYen   int64  `json:"providers_granted_yen"`
	DailyYen       int64  `json:"daily_granted_yen"`
	DailyRecords   int    `json:"daily_records"`
	// Charges is set with --charges: the grant records read through a
	// validator's full RPC.
	Charges        bool              `json:"charges"`
	Grants         int64             `json:"grants,omitempty"`
	GrantsYen      int64             `json:"grants_yen,omitempty"`
	LaterGrants    int64             `json:"later_grants,omitempty"`
	HistoryEntries int               `json:"history_entries"`
	Checks         []string          `json:"checks"`
	Mismatches     []report.Mismatch `json:"mismatches"`
}

// reconcileChecks describe what reconcile compares, for the output;
// chargeChecks are added with --charges.
var (
	reconcileChecks = []string{
		"the total granted the state root commits to = the sum of the daily records = the sum of the program totals = the sum of the provider totals",
		"each program's totals = the sum of its providers' (granted, grants, people linked); granted <= budget",
		"each program's and each provider's granted yen and grant count = its daily records; every range read is complete (its proved count)",
		"settled <= granted and settled + recovered <= granted for every provider",
		"each provider's recovered yen = its over-grant records",
		"the history holds every government action applied (no sequence missing)",
	}
	chargeChecks = []string{
		"the total granted the state root commits to = the sum of every grant recorded by the height",
		"each provider's granted yen and grant count = its grant records",
		"each grant record agrees with its key and its weight in the state root",
	}
)

func newReconcileCmd(f *flags) *cobra.Command {
	var charges bool
	cmd := &cobra.Command{
		Use:   "reconcile [--charges]",
		Short: "Check the total from the state root = the daily records = the program and provider totals, and settled <= granted",
		Long: `reconcile reads the totals and the daily grant ledger at one height H, and
the history, all from public records, and checks:

  - ` + strings.Join(reconcileChecks, "\n  - ") + `

With --charges it also reads every grant recorded by H (streamed, proved
page by page; charge records are not public, so --node must be a
validator's full RPC) and checks:

  - ` + strings.Join(chargeChecks, "\n  - ") + `

Every mismatch is reported with the records involved; the exit status is
then 6.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f.full = charges
			c, t, err := f.openTotals(ctx)
			if err != nil {
				return err
			}
			var scan *report.Scan
			if charges {
				fmt.Fprintf(f.run.Env.Stderr, "reconcile: totals at height %d; reading every grant recorded by then\n", t.Height)
				prog := newProgress(f.run.Env.Stderr, "reconcile")
				scan, err = report.ScanGrants(ctx, c, t.Height, []report.Scope{{}}, report.Filter{}, prog.page, nil)
				if err != nil {
					return chargesRefused(err)
				}
				prog.done(scan)
			}
			h, err := report.ReadHistory(ctx, c, t)
			if err != nil {
				return classify(err)
			}
			ms := append(report.Reconcile(t, scan), h.Missing...)
			out := ReconcileJSON{Proof: proofOf(c, t.Height, t.AppHash), OK: len(ms) == 0, RootGrantedYen: t.RootSum,
				ProgramsYen: t.GrantedYen(), ProvidersYen: providersGrantedYen(t), DailyYen: t.DailyYen(), DailyRecords: len(t.Days),
				HistoryEntries: len(h.Items), Checks: reconcileChecks, Mismatches: nonNil(ms)}
			if scan != nil {
				out.Charges, out.Grants, out.GrantsYen, out.LaterGrants = true, scan.Total.Grants, scan.Total.Yen, scan.Later
				out.Checks = append(append([]string(nil), reconcileChecks...), chargeChecks...)
			}
			if err := f.report(c, t.Height, out, func(w io.Writer) { writeReconcile(w, &out) }); err != nil {
				return err
			}
			if !out.OK {
				return mismatch("audit: %d mismatches at height %d (node %s); records involved: %s",
					len(ms), t.Height, c.Node(), strings.Join(involved(ms), ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&charges, "charges", false, "also read and check every grant record (not public: needs a validator's full RPC)")
	return cmd
}

// involved lists the records the mismatches name, each once, specific
// keys before wildcards.
func involved(ms []report.Mismatch) []string {
	seen := map[string]bool{}
	var keys, wild []string
	for _, m := range ms {
		for _, k := range m.Records {
			if seen[k] {
				continue
			}
			seen[k] = true
			if strings.HasSuffix(k, "*") {
				wild = append(wild, k)
			} else {
				keys = append(keys, k)
			}
		}
	}
	return append(keys, wild...)
}

func writeReconcile(w io.Writer, r *ReconcileJSON) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Total granted (state root):\t¥%s\n", report.Yen(int64(r.RootGrantedYen)))
	fmt.Fprintf(tw, "Sum of the %d daily records:\t¥%s\n", r.DailyRecords, report.Yen(r.DailyYen))
	fmt.Fprintf(tw, "Sum of the program totals:\t¥%s\n", report.Yen(r.ProgramsYen))
	fmt.Fprintf(tw, "Sum of the provider totals:\t¥%s\n", report.Yen(r.ProvidersYen))
	if r.Charges {
		fmt.Fprintf(tw, "Sum of the %d grant records:\t¥%s\t(%d recorded later left out)\n", r.Grants, report.Yen(r.GrantsYen), r.LaterGrants)
	}
	fmt.Fprintf(tw, "History entries:\t%d\n", r.HistoryEntries)
	tw.Flush()
	if r.OK {
		fmt.Fprintf(w, "RECONCILED: all %d checks pass\n", len(r.Checks))
		return
	}
	fmt.Fprintf(w, "MISMATCH: %d\n", len(r.Mismatches))
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "  %s\n", m)
	}
}
