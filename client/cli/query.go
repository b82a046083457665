package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
)

// AnswerJSON is where a query's answer comes from; every query's --json
// output embeds it.
type AnswerJSON struct {
	Found        bool   `json:"found"`
	Key          string `json:"key"`           // store key
	AnswerHeight int64  `json:"answer_height"` // the state after this block
	// Verified: the answer's Merkle proof was checked against the app hash
	// in block answer_height+1's header (--prove).
	Verified bool `json:"verified"`
}

func newQueryCmd(c *cmdCtx) *cobra.Command {
	var prove bool
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read the ledger's current state",
		Long: `query reads one record of the ledger's last committed state. With --prove
the node's Merkle proof of the answer (of the value, or of its absence) is
checked against the app hash in the next block's header.`,
	}
	cmd.PersistentFlags().BoolVar(&prove, "prove", false, "verify the answer's proof against the block header")
	q := &querier{c: c, prove: &prove}
	cmd.AddCommand(q.mykeyCmd(), q.linkCmd(), q.providerCmd(), q.programCmd(), q.chargeCmd(),
		q.personCmd(), q.totalsCmd(), q.certCmd(), q.govCmd(), q.txCmd())
	return cmd
}

type querier struct {
	c     *cmdCtx
	prove *bool
}

// get reads a record; a missing one prints {"found": false, ...} with
// --json and returns a not-found error naming what.
func (q *querier) get(ctx context.Context, key string, rec rpc.Record, what string) (AnswerJSON, error) {
	if _, err := q.c.status(ctx); err != nil {
		return AnswerJSON{}, err
	}
	a, err := rpc.Get(ctx, q.c.n, key, rec, *q.prove)
	if err != nil {
		return AnswerJSON{}, err
	}
	return q.answer(a, what)
}

// answer is where a's answer comes from; a missing record prints
// {"found": false, ...} with --json and returns a not-found error naming
// what.
func (q *querier) answer(a *rpc.Answer, what string) (AnswerJSON, error) {
	ans := AnswerJSON{Found: a.Found, Key: a.Key, AnswerHeight: a.Height, Verified: a.Verified}
	if !a.Found {
		if q.c.Flags.JSON {
			_ = q.c.output(ans, nil)
		}
		return ans, notFound("the ledger has no %s (as of block %d)", what, a.Height)
	}
	return ans, nil
}

// output writes a query's answer v: as JSON with --json, else text followed,
// when a's proof was verified, by a line saying so.
func (q *querier) output(v any, a AnswerJSON, text func(w io.Writer)) error {
	return q.c.output(v, func(w io.Writer) {
		text(w)
		if a.Verified {
			fmt.Fprintf(w, "(answer as of block %d, proof verified against block %d's header)\n", a.AnswerHeight, a.AnswerHeight+1)
		}
	})
}

// MyKeyJSON is the --json output of `mykey query mykey`.
type MyKeyJSON struct {
	AnswerJSON
	MyKeyID      string     `json:"mykey_id"`
	IssuedHeight int64      `json:"issued_height"`
	MergedInto   string     `json:"merged_into,omitempty"`
	Programs     []string   `json:"programs"`
	Certificates []CertJSON `json:"certificates"`
}

// CertJSON names a certificate. The ledger knows a certificate only by
// its index (a keyed hash of issuer and serial, hex); fingerprint, issuer
// and serial are known when the certificate itself was given.
type CertJSON struct {
	Index       string `json:"index,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	Serial      string `json:"serial,omitempty"` // hex
}

func certJSON(r *types.CertRef) CertJSON {
	return CertJSON{Fingerprint: txbuild.CertRefFingerprint(r), Issuer: dn(r.GetIssuer()), Serial: hex.EncodeToString(r.GetSerial())}
}

func (q *querier) mykeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "mykey ID",
		Short: "A MyKey ID: its certificates and programs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.ToUpper(args[0])
			if !txbuild.ValidMyKeyID(id) {
				return usageErr("%q is not a MyKey ID (8 characters of 0-9 and A-Z without I, L, O, U)", args[0])
			}
			var mk types.MyKeyRecord
			a, err := q.get(cmd.Context(), rpc.KeyMyKey(id), &mk, "MyKey ID "+id)
			if err != nil {
				return err
			}
			out := MyKeyJSON{AnswerJSON: a, MyKeyID: mk.Id, IssuedHeight: mk.IssuedHeight, MergedInto: mk.MergedInto,
				Programs: append([]string{}, mk.Programs...), Certificates: []CertJSON{}}
			for _, idx := range mk.Certs {
				out.Certificates = append(out.Certificates, CertJSON{Index: hex.EncodeToString(idx)})
			}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "MyKey ID:  %s (issued in block %d)\n", out.MyKeyID, out.IssuedHeight)
				if out.MergedInto != "" {
					fmt.Fprintf(w, "merged into %s (the same person's older ID)\n", out.MergedInto)
				}
				fmt.Fprintf(w, "programs:  %s\n", strings.Join(out.Programs, ", "))
				for _, c := range out.Certificates {
					fmt.Fprintf(w, "certificate %s (ledger index)\n", c.Index)
				}
			})
		},
	}
}

// ProviderJSON is the --json output of `mykey query provider`.
type ProviderJSON struct {
	AnswerJSON
	ProviderID   string `json:"provider_id"`
	Name         string `json:"name"`
	Status       string `json:"status"` // "active" or "suspended"
	GrantKey     string `json:"grant_key"`
	ValidatorKey string `json:"validator_key"`
	Power        int64  `json:"power"`
}

func (q *querier) providerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "provider ID",
		Short: "A payment provider",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p types.Provider
			a, err := q.get(cmd.Context(), rpc.KeyProvider(args[0]), &p, fmt.Sprintf("provider %q", args[0]))
			if err != nil {
				return err
			}
			out := ProviderJSON{AnswerJSON: a, ProviderID: p.Id, Name: p.Name,
				Status:   strings.ToLower(strings.TrimPrefix(p.Status.String(), "PROVIDER_STATUS_")),
				GrantKey: hex.EncodeToString(p.GrantKey), ValidatorKey: hex.EncodeToString(p.ValidatorKey), Power: p.Power}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "provider %q (%s): %s\ngrant key:     %s\nvalidator key: %s (power %d)\n",
					out.ProviderID, out.Name, out.Status, out.GrantKey, out.ValidatorKey, out.Power)
			})
		},
	}
}

// ProgramJSON is the --json output of `mykey query program`: the program
// in the genesis format (what gov set-program --file takes) and its
// totals.
type ProgramJSON struct {
	AnswerJSON
	Program types.GenesisProgram `json:"program"`
	Totals  TotalsJSON           `json:"totals"`
}

// TotalsJSON are running totals.
type TotalsJSON struct {
	GrantedYen int64 `json:"granted_yen"`
	Grants     int64 `json:"grants"`
	Linked     int64 `json:"linked"`
}

func (q *querier) programCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "program ID",
		Short: "A bonus program and its totals",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var p types.Program
			a, err := q.get(ctx, rpc.KeyProgram(args[0]), &p, fmt.Sprintf("program %q", args[0]))
			if err != nil {
				return err
			}
			var t types.ProgramTotals
			if _, err := rpc.Get(ctx, q.c.n, rpc.KeyProgramTotals(args[0]), &t, false); err != nil {
				return err
			}
			out := ProgramJSON{AnswerJSON: a, Program: types.GenesisProgramFromProto(&p),
				Totals: TotalsJSON{GrantedYen: t.GrantedYen, Grants: t.Grants, Linked: t.Linked}}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				g := out.Program
				fmt.Fprintf(w, "program %q (%s), %s\n", g.ID, g.Name, g.Kind)
				switch g.Kind {
				case types.KindFixed:
					fmt.Fprintf(w, "pays:    %s per attested person\n", txbuild.Yen(g.FixedYen))
				default:
					fmt.Fprintf(w, "pays:    %d bp of each charge, at most %s per person\n", g.RateBP, txbuild.Yen(g.CapYen))
				}
				fmt.Fprintf(w, "links:   %s to %s\ngrants:  %s to %s\n", g.LinkStart.Format(time.RFC3339), g.LinkEnd.Format(time.RFC3339),
					g.GrantStart.Format(time.RFC3339), g.GrantEnd.Format(time.RFC3339))
				fmt.Fprintf(w, "granted: %s of a budget of %s (%d grants); %d people linked\n",
					txbuild.Yen(out.Totals.GrantedYen), txbuild.Yen(g.BudgetYen), out.Totals.Grants, out.Totals.Linked)
			})
		},
	}
}

// ChargeJSON is the --json output of `mykey query charge`.
type ChargeJSON struct {
	AnswerJSON
	ProgramID  string `json:"program_id"`
	ProviderID string `json:"provider_id"`
	ChargeRef  string `json:"charge_ref"`
	MyKeyID    string `json:"mykey_id"`
	AmountYen  int64  `json:"amount_yen"`
	GrantedYen int64  `json:"granted_yen"`
	ChargedAt  string `json:"charged_at"`
	Height     int64  `json:"height"`
	Time       string `json:"time"`
	// Code and Rejected are the code and reason of a charge the ledger
	// rejected (recorded with nothing granted); 0 and "" for a grant.
	Code     uint32 `json:"code"`
	Rejected string `json:"rejected,omitempty"`
}

func (q *querier) chargeCmd() *cobra.Command {
	var program, provider, ref string
	cmd := &cobra.Command{
		Use:   "charge --program ID --provider ID --ref REF",
		Short: "A recorded charge and the bonus granted for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !txbuild.ValidID(program) || !txbuild.ValidID(provider) || !txbuild.ValidChargeRef(ref) {
				return usageErr("--program, --provider and --ref are required")
			}
			var g types.GrantRecord
			a, err := q.get(cmd.Context(), rpc.KeyCharge(program, provider, ref), &g,
				fmt.Sprintf("charge %q of provider %q in program %q", ref, provider, program))
			if err != nil {
				return err
			}
			out := ChargeJSON{AnswerJSON: a, ProgramID: g.ProgramId, ProviderID: g.ProviderId, ChargeRef: g.ChargeRef,
				MyKeyID: g.MykeyId, AmountYen: g.AmountYen, GrantedYen: g.GrantedYen, ChargedAt: unixText(g.ChargedAt),
				Height: g.Height, Time: unixText(g.Time), Code: g.Code}
			if g.Code != 0 {
				out.Rejected = codeReason(g.Code)
			}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				if out.Code != 0 {
					fmt.Fprintf(w, "charge %q: %s by MyKey ID %s at %s; rejected in block %d (%s, code %d): nothing granted\n",
						out.ChargeRef, txbuild.Yen(out.AmountYen), out.MyKeyID, out.ChargedAt, out.Height, out.Rejected, out.Code)
				} else {
					fmt.Fprintf(w, "charge %q: %s by MyKey ID %s at %s; granted %s in block %d\n",
						out.ChargeRef, txbuild.Yen(out.AmountYen), out.MyKeyID, out.ChargedAt, txbuild.Yen(out.GrantedYen), out.Height)
				}
			})
		},
	}
	cmd.Flags().StringVar(&program, "program", "", "program ID")
	cmd.Flags().StringVar(&provider, "provider", "", "provider ID")
	cmd.Flags().StringVar(&ref, "ref", "", "charge reference")
	return cmd
}
