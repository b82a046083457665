package audit

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// PersonJSON is `audit person --json`.
type PersonJSON struct {
	Proof      Proof                 `json:"proof"`
	ID         string                `json:"mykey_id"`
	Height     int64                 `json:"height"`
	Issued     int64                 `json:"issued_height"`
	Certs      int                   `json:"certificates"`
	MergedInto string                `json:"merged_into,omitempty"`
	MergedFrom []string              `json:"merged_from,omitempty"`
	Programs   []PersonProgramJSON   `json:"programs"`
	History    []*report.HistoryItem `json:"history"`
	Mismatches []report.Mismatch     `json:"mismatches"`
}

// PersonProgramJSON is a person's standing in one program.
type PersonProgramJSON struct {
	Program      string          `json:"program"`
	Provider     string          `json:"provider,omitempty"`
	LinkStatus   string          `json:"link_status"`
	LinkHeight   int64           `json:"link_height"`
	GrantedYen   int64           `json:"granted_yen"`
	RecoveredYen int64           `json:"recovered_yen"`
	Attested     bool            `json:"attested,omitempty"`
	CapYen       int64           `json:"cap_yen"`
	CapLeftYen   int64           `json:"cap_left_yen"`
	TotalsHeight int64           `json:"totals_height"`
	Events       []LinkEventJSON `json:"events"`
	OverGrants   []OverGrantJSON `json:"over_grants"`
	// Grants are the person's charges, with --charges only (not public).
	Grants []report.GrantJSON `json:"grants,omitempty"`
}

// LinkEventJSON is one entry of a linkage's history.
type LinkEventJSON struct {
	Kind      string `json:"kind"`
	Provider  string `json:"provider"`
	Height    int64  `json:"height"`
	Time      string `json:"time"`
	Reference string `json:"reference,omitempty"`
}

// LinkStatus names a linkage's state.
func LinkStatus(l *types.Linkage) string { return types.LinkStatusOf(l) }

// PersonToJSON turns a person report into its JSON form; t gives the
// programs' caps.
func PersonToJSON(p *report.PersonReport, t *report.Totals) PersonJSON {
	out := PersonJSON{ID: p.ID, Height: p.Height, Issued: p.Record.IssuedHeight, Certs: len(p.Record.Certs),
		MergedInto: p.Record.MergedInto, MergedFrom: p.MergedFrom, History: nonNil(p.History), Mismatches: nonNil(p.Mismatches)}
	for _, pp := range p.Programs {
		j := PersonProgramJSON{Program: pp.Program, LinkStatus: LinkStatus(pp.Link), LinkHeight: pp.LinkHeight,
			GrantedYen: pp.Totals.GrantedYen, RecoveredYen: pp.Totals.RecoveredYen, Attested: pp.Totals.Attested, TotalsHeight: pp.TotalsHeight,
			Events: []LinkEventJSON{}, OverGrants: []OverGrantJSON{}}
		if pv := t.Program(pp.Program); pv != nil && pv.Program != nil {
			j.CapYen = pv.Program.CapYen
			j.CapLeftYen = pv.Program.CapYen - (pp.Totals.GrantedYen - pp.Totals.RecoveredYen)
		}
		if pp.Link != nil {
			j.Provider = pp.Link.ProviderId
		}
		for _, e := range pp.Events {
			j.Events = append(j.Events, LinkEventJSON{Kind: e.Kind, Provider: e.ProviderId, Height: e.Height, Time: report.Timestamp(e.Time), Reference: e.Reference})
		}
		for _, og := range pp.OverGrants {
			j.OverGrants = append(j.OverGrants, overGrantJSON(og))
		}
		for _, g := range pp.Grants {
			j.Grants = append(j.Grants, g.JSON())
		}
		out.Programs = append(out.Programs, j)
	}
	return out
}

func newPersonCmd(f *flags) *cobra.Command {
	var charges bool
	cmd := &cobra.Command{
		Use:   "person MYKEY_ID [--charges]",
		Short: "One person: linkage and its history, totals against the cap, corrections, successions",
		Long: `person shows what the public ledger holds about one MyKey ID: in each
program its linkage (or its proved absence) and the linkage's history, what
it was granted and what was recovered, what is left of the cap,
over-grants, and the government actions naming it. Each part says the
height it is proved at. It shows no charge.

--charges also lists the charges to it and to the IDs merged into it
(which must add up to its total), for government auditors: charge records
are not public, so --node must be a validator's full RPC.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f.full = charges
			c, t, h, err := f.openHistory(ctx)
			if err != nil {
				return err
			}
			p, err := report.Person(ctx, c, t, h, args[0], charges)
			if err != nil {
				return chargesRefused(err)
			}
			out := PersonToJSON(p, t)
			out.Proof = proofOf(c, p.Height, nil)
			if err := f.report(c, p.Height, out, func(w io.Writer) { writePerson(w, &out) }); err != nil {
				return err
			}
			if len(out.Mismatches) > 0 {
				return mismatch("audit: MyKey ID %s: %d mismatches; first: %s", p.ID, len(out.Mismatches), out.Mismatches[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&charges, "charges", false, "also list the person's charges (not public: needs a validator's full RPC)")
	return cmd
}

func writePerson(w io.Writer, p *PersonJSON) {
	fmt.Fprintf(w, "\nMyKey ID %s: issued at height %d, %d certificate(s)\n", p.ID, p.Issued, p.Certs)
	if p.MergedInto != "" {
		fmt.Fprintf(w, "Merged into %s by a succession: see mykey audit person %s\n", p.MergedInto, p.MergedInto)
	}
	for _, id := range p.MergedFrom {
		fmt.Fprintf(w, "MyKey ID %s was merged into this one\n", id)
	}
	for _, pp := range p.Programs {
		fmt.Fprintf(w, "\nProgram %s: linkage %s", pp.Program, pp.LinkStatus)
		if pp.Provider != "" {
			fmt.Fprintf(w, " to %s", pp.Provider)
		}
		fmt.Fprintf(w, " (proved at height %d); granted ¥%s, recovered ¥%s, ¥%s of the ¥%s cap left (proved at height %d)\n",
			pp.LinkHeight, report.Yen(pp.GrantedYen), report.Yen(pp.RecoveredYen), report.Yen(pp.CapLeftYen), report.Yen(pp.CapYen), pp.TotalsHeight)
		for _, e := range pp.Events {
			fmt.Fprintf(w, "  %s  %-16s %s  height %d  %s\n", e.Time, e.Kind, e.Provider, e.Height, e.Reference)
		}
		for _, og := range pp.OverGrants {
			fmt.Fprintf(w, "  over-grant ¥%s to recover from %s (height %d): %s\n", report.Yen(og.AmountYen), og.Provider, og.Height, og.Reference)
		}
		if len(pp.Grants) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "  PROVIDER\tCHARGE REF\tMYKEY\tCHARGE ¥\tGRANTED ¥\tCHARGED AT\tHEIGHT\n")
		for _, g := range pp.Grants {
			granted := report.Yen(g.GrantedYen)
			if g.Rejected != "" {
				granted = "rejected: " + g.Rejected
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\n", g.Provider, g.ChargeRef, g.MyKeyID, report.Yen(g.AmountYen), granted, g.ChargedAt, g.Height)
		}
		tw.Flush()
	}
	writeHistoryNaming(w, p.ID, p.History, p.Mismatches)
}
