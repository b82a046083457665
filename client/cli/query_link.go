package cli

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/cardcmd"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
)

// LinkageJSON is the --json output of `mykey query link`.
type LinkageJSON struct {
	AnswerJSON
	ProgramID         string `json:"program_id"`
	MyKeyID           string `json:"mykey_id"`
	ProviderID        string `json:"provider_id"`
	AccountCommitment string `json:"account_commitment"` // hex
	Status            string `json:"status"`             // "active" or "voided"
	Height            int64  `json:"height"`             // block of the (last) linkage change
	Time              string `json:"time"`
}

func (q *querier) linkCmd() *cobra.Command {
	var program, mykey, provider, account, commitment string
	var card cardcmd.CardFlags
	cmd := &cobra.Command{
		Use:   "link --program ID (--mykey ID | --provider ID --account TOKEN | --card SPEC)",
		Short: "Which provider a person is linked to in a program",
		Long: `link shows a person's linkage in a program: by MyKey ID, by a provider's
account (--provider with --account or --account-commitment), or by the card
in the reader (--card; no PIN needed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !txbuild.ValidID(program) {
				return usageErr("--program is required")
			}
			if _, err := q.c.status(ctx); err != nil {
				return err
			}
			id := strings.ToUpper(mykey)
			switch {
			case mykey != "":
				if !txbuild.ValidMyKeyID(id) {
					return usageErr("--mykey %q is not a MyKey ID", mykey)
				}
			case provider != "":
				cm := txbuild.Commitment(account)
				if commitment != "" {
					b, err := hex.DecodeString(commitment)
					if err != nil || len(b) != types.CommitmentLen {
						return usageErr("--account-commitment must be %d bytes of hex", types.CommitmentLen)
					}
					cm = b
				} else if account == "" {
					return usageErr("--provider needs --account or --account-commitment")
				}
				res, err := q.c.n.Query(ctx, "/"+rpc.KeyAccount(program, provider, cm), false)
				if err != nil {
					return err
				}
				if !rpc.Found(res) {
					return notFound("no person is linked to this %q account in program %q", provider, program)
				}
				id = string(res.Value)
			case cmd.Flags().Changed("card"):
				conn, err := card.Open(ctx, q.c.Env.Stderr)
				if err != nil {
					return err
				}
				der, err := conn.Certificate()
				conn.Close()
				if err != nil {
					return err
				}
				if id, err = q.c.mykeyOf(ctx, der); err != nil {
					return err
				}
				if id == "" {
					return notFound("this card has no MyKey ID yet (it is issued on the first link)")
				}
			default:
				return usageErr("give --mykey, --provider with --account, or --card")
			}
			var l types.Linkage
			a, err := q.get(ctx, rpc.KeyLink(program, id), &l, fmt.Sprintf("linkage of MyKey ID %s in program %q", id, program))
			if err != nil {
				return err
			}
			out := LinkageJSON{AnswerJSON: a, ProgramID: l.ProgramId, MyKeyID: l.MykeyId, ProviderID: l.ProviderId,
				AccountCommitment: hex.EncodeToString(l.AccountCommitment), Status: linkStatus(l.Status),
				Height: l.Height, Time: unixText(l.Time)}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "MyKey ID %s in program %q: provider %q (%s since block %d, %s)\naccount commitment %s\n",
					out.MyKeyID, out.ProgramID, out.ProviderID, out.Status, out.Height, out.Time, out.AccountCommitment)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&program, "program", "", "program ID")
	fl.StringVar(&mykey, "mykey", "", "MyKey ID")
	fl.StringVar(&provider, "provider", "", "provider ID (with --account)")
	fl.StringVar(&account, "account", "", "the account's link token")
	fl.StringVar(&commitment, "account-commitment", "", "the account's commitment (hex)")
	fl.StringVar(&card.Spec, "card", cardcmd.DefaultCard, "look the person up by this card: "+cardcmd.CardUsage)
	fl.DurationVar(&card.Wait, "card-wait", time.Minute, "how long to wait for a reader and a card")
	return cmd
}

func linkStatus(s types.LinkStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "LINK_STATUS_"))
}
