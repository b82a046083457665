package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/cli/cmdenv"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
)

// GovJSON is the --json output of a submitted government action.
type GovJSON struct {
	Action     string `json:"action"`
	Sequence   uint64 `json:"sequence"`
	Summary    string `json:"summary"` // what the ledger says it did (accepted), else what was asked
	Signatures int    `json:"signatures"`
	Code       uint32 `json:"code"`
	Codespace  string `json:"codespace,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Log        string `json:"log"`
	Outcome    string `json:"outcome"` // "accepted" or "rejected"
	Stage      string `json:"stage"`
	Height     int64  `json:"height"`
	TxHash     string `json:"tx_hash"`
}

// ProposalJSON is the --json output of an action written with --out.
type ProposalJSON struct {
	File     string `json:"file"`
	ChainID  string `json:"chain_id"`
	Sequence uint64 `json:"sequence"`
	Action   string `json:"action"`
	Summary  string `json:"summary"`
	Digest   string `json:"digest"`
}

func newGovCmd(c *cmdCtx) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gov",
		Short: "Government actions, signed by k of n authority keys",
		Long: `Every government action needs k of the n authority keys listed in genesis
and the ledger's next government sequence number.

One person holding enough keys signs and submits at once:
  mykey gov settle --program P --provider X --amount 1000 --reference R --key k1.json --key k2.json

Key holders in different places sign a proposal file each:
  mykey gov settle ... --out settle.json            # writes the proposal (no key needed)
  mykey gov sign --key k1.json settle.json         # each holder: writes settle.<id>.sig.json
  mykey gov submit settle.json settle.*.sig.json   # anyone: combines, checks, sends

A proposal carries its sequence number: if another action is applied first,
make a new proposal. "mykey gov show FILE" prints what a file holds; check
its digest before signing.`,
	}
	cmd.AddCommand(
		newGovRegisterProviderCmd(c), newGovUpdateProviderCmd(c), newGovSetProgramCmd(c),
		newGovRevokeCmd(c), newGovSuccessionCmd(c), newGovAttestCmd(c), newGovSettleCmd(c),
		newGovCorrectCmd(c), newGovSetNodesCmd(c),
		newGovSignCmd(c), newGovSubmitCmd(c), newGovShowCmd(c),
	)
	return cmd
}

// govFlags are the flags of every action command.
type govFlags struct {
	keys     []string
	out      string
	sequence uint64
	chainID  string
}

func (f *govFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.keys, "key", nil, "government authority key file; repeat for k of n (sign and submit now)")
	fs.StringVar(&f.out, "out", "", "write the unsigned proposal to this file instead (for `mykey gov sign`)")
	fs.Uint64Var(&f.sequence, "sequence", 0, "government sequence number (default: the ledger's next)")
	fs.StringVar(&f.chainID, "chain-id", "", "with --out and --sequence: write the proposal without asking a node")
}

// actionCmd makes an action command: build makes the action from the
// command's own flags (it may read the ledger through c).
func actionCmd(c *cmdCtx, use, short, long string, flags func(fs *pflag.FlagSet),
	build func(ctx context.Context) (*types.GovAction, error)) *cobra.Command {
	var f govFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.out == "") == (len(f.keys) == 0) {
				return usageErr("give --key (one or more authority keys: sign and submit now) or --out FILE (write a proposal for `mykey gov sign`)")
			}
			if f.chainID != "" && (f.out == "" || f.sequence == 0) {
				return usageErr("--chain-id goes with --out and --sequence")
			}
			ctx := cmd.Context()
			a, err := build(ctx)
			if err != nil {
				return err
			}
			return c.runGovAction(ctx, &f, a)
		},
	}
	flags(cmd.Flags())
	f.register(cmd.Flags())
	return cmd
}

func (c *cmdCtx) runGovAction(ctx context.Context, f *govFlags, a *types.GovAction) error {
	a.ChainId, a.Sequence = f.chainID, f.sequence
	if a.ChainId == "" {
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		a.ChainId = st.ChainID
	}
	if a.Sequence == 0 {
		gs, err := c.govState(ctx)
		if err != nil {
			return err
		}
		a.Sequence = gs.NextSequence
	}
	if f.out != "" {
		p, err := txbuild.NewProposal(a)
		if err != nil {
			return err
		}
		if err := txbuild.SaveProposal(f.out, p); err != nil {
			return err
		}
		c.msg("proposal written to %s; each key holder signs it with `mykey gov sign --key KEY %s`, then `mykey gov submit %s SIG...` sends it",
			f.out, f.out, f.out)
		out := ProposalJSON{File: f.out, ChainID: p.ChainID, Sequence: p.Sequence, Action: p.Action, Summary: p.Summary, Digest: p.Digest}
		return c.output(out, func(w io.Writer) { printProposal(w, out) })
	}
	var sigs []*txbuild.SignatureFile
	for _, path := range f.keys {
		s, err := signWith(path, a)
		if err != nil {
			return err
		}
		sigs = append(sigs, s)
	}
	return c.submitGov(ctx, a, sigs, f.keys)
}

// signWith signs a with the authority key in path.
func signWith(path string, a *types.GovAction) (*txbuild.SignatureFile, error) {
	k, err := loadKey(path, keyfile.RoleGovernment)
	if err != nil {
		return nil, err
	}
	return txbuild.SignGov(k, a)
}

// govState reads the ledger's government record.
func (c *cmdCtx) govState(ctx context.Context) (*types.GovState, error) {
	if _, err := c.status(ctx); err != nil {
		return nil, err
	}
	var gs types.GovState
	a, err := rpc.Get(ctx, c.n, rpc.KeyGov(), &gs, false)
	if err != nil {
		return nil, err
	}
	if !a.Found {
		return nil, fmt.Errorf("cli: %s has no government record: is it a MyKey Ledger node?", c.n.URL())
	}
	return &gs, nil
}

// submitGov combines the signatures, checks them against the ledger's
// keys, threshold and sequence, and sends the action.
func (c *cmdCtx) submitGov(ctx context.Context, a *types.GovAction, sigs []*txbuild.SignatureFile, names []string) error {
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	if a.ChainId != st.ChainID {
		return usageErr("the proposal is for chain %q, the node's chain is %q: check --node", a.ChainId, st.ChainID)
	}
	gs, err := c.govState(ctx)
	if err != nil {
		return err
	}
	if a.Sequence != gs.NextSequence {
		return &cmdenv.ExitError{Code: ExitRejected, Err: fmt.Errorf("%s: nothing was sent",
			RejectionText("the proposal (checked before sending)", types.ErrBadSequence.Code,
				fmt.Sprintf("it has sequence %d, the ledger's next is %d", a.Sequence, gs.NextSequence)))}
	}
	signed, err := txbuild.Combine(a, sigs, names)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := txbuild.CheckAuthority(gs, signed); err != nil {
		return &cmdenv.ExitError{Code: ExitRejected, Err: fmt.Errorf("%s: nothing was sent",
			RejectionText("the proposal (checked before sending)", types.ErrUnauthorized.Code, err.Error()))}
	}
	tx, err := txbuild.GovTx(signed)
	if err != nil {
		return err
	}
	c.msg("submitting: %s (sequence %d, %d signatures)", txbuild.Describe(a), a.Sequence, len(signed.Signatures))
	res, err := rpc.Submit(ctx, c.n, tx, c.submitOpts())
	if err != nil {
		return err
	}
	out := GovJSON{Action: txbuild.ActionName(a), Sequence: a.Sequence, Summary: txbuild.Describe(a),
		Signatures: len(signed.Signatures), Code: res.Code, Codespace: res.Codespace, Log: res.Log,
		Outcome: "accepted", Stage: res.Stage, Height: res.Height, TxHash: res.HashHex()}
	for _, it := range rpc.Items(res.Events) {
		if it.Type == types.EventGov && it.Get(types.AttrSummary) != "" {
			out.Summary = it.Get(types.AttrSummary)
		}
	}
	if res.Code != 0 {
		out.Outcome, out.Reason = "rejected", types.CodeName(res.Code)
	}
	err = c.output(out, func(w io.Writer) {
		if out.Code == 0 {
			fmt.Fprintf(w, "done: %s (sequence %d, block %d)\n", out.Summary, out.Sequence, out.Height)
		} else {
			fmt.Fprintf(w, "rejected: %s (code %d, %s)\n", out.Log, out.Code, out.Reason)
		}
	})
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return rejected("the government action", res.Code, res.Log)
	}
	return nil
}

func printProposal(w io.Writer, p ProposalJSON) {
	fmt.Fprintf(w, "proposal: %s\nchain:    %s\nsequence: %d\naction:   %s\n          %s\ndigest:   %s\n",
		p.File, p.ChainID, p.Sequence, p.Action, p.Summary, p.Digest)
}
