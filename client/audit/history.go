package audit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit/report"
)

// HistoryJSON is `audit history --json`.
type HistoryJSON struct {
	Proof      Proof                 `json:"proof"`
	Items      []*report.HistoryItem `json:"items"`
	Later      int                   `json:"later"`
	Mismatches []report.Mismatch     `json:"mismatches"`
}

var historyKinds = []string{report.KindCorrection, report.KindSuccession, report.KindRevocation, report.KindSettlement,
	report.KindProvider, report.KindProgram, report.KindAttestation}

func newHistoryCmd(f *flags) *cobra.Command {
	var kinds []string
	var program, provider, mykey string
	cmd := &cobra.Command{
		Use:   "history [--kind K,...] [--program P] [--provider V] [--mykey ID]",
		Short: "Government actions applied: corrections, successions, revocations, settlements, provider changes",
		Long: `history lists every government action the ledger applied up to the height
of its answer, in order, each proved, and checks none is missing (the
entries are numbered without gaps up to the government's next sequence).
Kinds: ` + strings.Join(historyKinds, ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			want := map[string]bool{}
			for _, k := range kinds {
				for _, k := range strings.Split(k, ",") {
					if k = strings.TrimSpace(k); k == "" {
						continue
					}
					ok := false
					for _, known := range historyKinds {
						ok = ok || known == k
					}
					if !ok {
						return usage("audit: unknown --kind %q (one of %s)", k, strings.Join(historyKinds, ", "))
					}
					want[k] = true
				}
			}
			c, t, h, err := f.openHistory(cmd.Context())
			if err != nil {
				return err
			}
			out := HistoryJSON{Proof: proofOf(c, t.Height, t.AppHash), Later: h.Later, Mismatches: h.Missing, Items: []*report.HistoryItem{}}
			for _, it := range h.Items {
				switch {
				case len(want) > 0 && !want[it.Kind],
					program != "" && it.Program != program,
					provider != "" && it.Provider != provider && !strings.Contains(it.Summary, `"`+provider+`"`),
					mykey != "" && it.MyKeyID != mykey && !strings.Contains(it.Summary, mykey):
					continue
				}
				out.Items = append(out.Items, it)
			}
			err = f.report(c, t.Height, out, func(w io.Writer) {
				writeHistory(w, out.Items)
				writeMismatches(w, h.Missing)
			})
			if err != nil {
				return err
			}
			if len(h.Missing) > 0 {
				return mismatch("audit: node %s left %d government actions out of the history", c.Node(), len(h.Missing))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&kinds, "kind", nil, "only these kinds ("+strings.Join(historyKinds, ", ")+")")
	fl.StringVar(&program, "program", "", "only actions on this program")
	fl.StringVar(&provider, "provider", "", "only actions naming this provider")
	fl.StringVar(&mykey, "mykey", "", "only actions naming this MyKey ID")
	return cmd
}

func writeHistory(w io.Writer, items []*report.HistoryItem) {
	if len(items) == 0 {
		fmt.Fprintln(w, "No government actions.")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tHEIGHT\tTIME (UTC)\tKIND\tSUMMARY")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", it.Sequence, it.Height, report.Timestamp(it.Time), it.Kind, it.Summary)
	}
	tw.Flush()
}

// writeHistoryNaming ends a person's or a provider's report: the
// government actions naming id, then the mismatches found.
func writeHistoryNaming(w io.Writer, id string, items []*report.HistoryItem, ms []report.Mismatch) {
	fmt.Fprintf(w, "\nGovernment actions naming %s:\n", id)
	writeHistory(w, items)
	writeMismatches(w, ms)
}

func writeMismatches(w io.Writer, ms []report.Mismatch) {
	for _, m := range ms {
		fmt.Fprintf(w, "MISMATCH %s\n", m)
	}
}
