package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/cardcmd"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
)

// LinkJSON is the --json output of `mykey link`.
type LinkJSON struct {
	MyKeyID     string `json:"mykey_id"` // "" if the ledger issued none (e.g. a rejected certificate)
	Height      int64  `json:"height"`   // block of the link; 0 if it never reached a block
	Code        uint32 `json:"code"`     // 0 accepted
	Codespace   string `json:"codespace,omitempty"`
	Reason      string `json:"reason,omitempty"` // the code's name, e.g. "already_linked"
	Log         string `json:"log"`
	Outcome     string `json:"outcome"` // "accepted" or "rejected"
	Stage       string `json:"stage"`   // "block", "check" (refused before a block) or "dropped"
	TxHash      string `json:"tx_hash"`
	ProgramID   string `json:"program_id"`
	ProviderID  string `json:"provider_id"`
	Fingerprint string `json:"fingerprint"`
}

// LinkFileJSON is the --json output of `mykey link --out FILE`.
type LinkFileJSON struct {
	File        string `json:"file"`
	ChainID     string `json:"chain_id"`
	ProgramID   string `json:"program_id"`
	ProviderID  string `json:"provider_id"`
	ExpiresAt   string `json:"expires_at"`
	Fingerprint string `json:"fingerprint"`
}

type linkFlags struct {
	program, provider, account string
	validFor                   time.Duration
	out, chainID               string
	card                       cardcmd.CardFlags
}

func newLinkCmd(c *cmdCtx) *cobra.Command {
	var f linkFlags
	cmd := &cobra.Command{
		Use:   "link --program ID --provider ID --account TOKEN [--card SPEC] [--out FILE]",
		Short: "Link your My Number Card to a provider's account for a program",
		Long: `link asks the card for its certificate, builds a link request (this card's
person, in this program, belongs to this provider account), has the card
sign it with your 4-digit PIN, submits it and waits for the block.

--account is the link token your provider's app shows while you are logged
in. The ledger stores only its SHA-256 (the account commitment), never the
account number; the provider recognises the commitment as yours.

The first link of a card issues its MyKey ID, printed with the outcome. A
linkage is final: one provider per program and person, one person per
provider account. Before asking for the PIN, link checks that the program
is open, the provider active and the card not already linked, so that a
request bound to fail is not signed.

With --out FILE the signed request is written to FILE instead of being
submitted, for a provider to send with "mykey link submit-batch". The
request expires after --valid-for (at most 7 days).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.runLink(cmd.Context(), &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.program, "program", "", "program ID, e.g. mynapoint")
	fl.StringVar(&f.provider, "provider", "", "provider ID, e.g. paypay")
	fl.StringVar(&f.account, "account", "", "the link token your provider's app shows (only its SHA-256 is sent)")
	fl.DurationVar(&f.validFor, "valid-for", txbuild.DefaultLinkValidity, "how long the signed request stays valid (at most 168h)")
	fl.StringVar(&f.out, "out", "", "write the signed request to this file instead of submitting it")
	fl.StringVar(&f.chainID, "chain-id", "", "with --out: sign for this chain without asking a node")
	f.card.Register(fl)
	for _, name := range []string{"program", "provider", "account"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.AddCommand(newLinkBatchCmd(c))
	return cmd
}

func (c *cmdCtx) runLink(ctx context.Context, f *linkFlags) error {
	if !txbuild.ValidID(f.program) || !txbuild.ValidID(f.provider) {
		return usageErr("--program and --provider are IDs of 1-%d characters of A-Z a-z 0-9 . _ -", types.MaxIDLen)
	}
	if f.account == "" {
		return usageErr("--account is the link token your provider's app shows; it cannot be empty")
	}
	if err := txbuild.CheckValidity(f.validFor); err != nil {
		return usageErr("--valid-for: %v", err)
	}
	if f.chainID != "" && f.out == "" {
		return usageErr("--chain-id goes with --out (a submitted link is signed for the node's chain)")
	}

	// The chain and its time: from the node, unless signing offline.
	var (
		chainID = f.chainID
		now     = c.Env.Now()
		n       rpc.Node
	)
	if chainID == "" {
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		n, chainID, now = c.n, st.ChainID, st.Time
	}

	sl, fp, err := c.signLinkOnCard(ctx, f, chainID, now, n)
	if err != nil {
		return err
	}
	if f.out != "" {
		return c.saveLink(f, sl, chainID, fp)
	}
	cert := sl.Request.Certificate

	tx, err := txbuild.LinkTx(sl)
	if err != nil {
		return err
	}
	res, err := rpc.Submit(ctx, n, tx, c.submitOpts())
	if err != nil {
		return err
	}
	out := LinkJSON{Height: res.Height, Code: res.Code, Codespace: res.Codespace, Log: res.Log,
		Stage: res.Stage, TxHash: res.HashHex(), ProgramID: f.program, ProviderID: f.provider,
		Fingerprint: fp, Outcome: "accepted"}
	if res.Code == 0 {
		for _, it := range rpc.Items(res.Events) {
			if it.Type == types.EventLink {
				out.MyKeyID = it.Get(types.AttrMyKeyID)
			}
		}
	} else {
		// A rejected link's event may name a MyKey ID issued only in the
		// rejected attempt; report the one the ledger holds, if any.
		out.Outcome, out.Reason = "rejected", types.CodeName(res.Code)
		out.MyKeyID, _ = c.mykeyOf(ctx, cert)
	}
	if err := c.output(out, func(w io.Writer) { printLink(w, &out) }); err != nil {
		return err
	}
	if res.Code != 0 {
		return rejected("the link", res.Code, res.Log)
	}
	return nil
}

// signLinkOnCard has the card sign the link request of f for chainID,
// valid from now for --valid-for, and returns it with the fingerprint of
// the card's certificate. With a node (n), it first refuses a
// link the ledger would certainly refuse, before the PIN is asked.
func (c *cmdCtx) signLinkOnCard(ctx context.Context, f *linkFlags, chainID string, now time.Time, n rpc.Node) (*types.SignedLink, string, error) {
	conn, err := f.card.Open(ctx, c.Env.Stderr)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	cert, err := conn.Certificate()
	if err != nil {
		return nil, "", err
	}
	fp, err := txbuild.Fingerprint(cert)
	if err != nil {
		return nil, "", err
	}
	if n != nil {
		if err := c.precheckLink(ctx, n, now, f.program, f.provider, cert); err != nil {
			return nil, "", err
		}
	}

	req := txbuild.LinkRequest(chainID, f.program, f.provider, f.account, now.Add(f.validFor), cert)
	c.msg("signing on the card: link this card in program %q to a %q account (valid until %s)",
		f.program, f.provider, time.Unix(req.ExpiresAt, 0).UTC().Format(time.RFC3339))
	pin, err := f.card.ReadPIN(c.Env.Stdin)
	if err != nil {
		return nil, "", err
	}
	sig, err := conn.Sign(req.SignBytes(), pin)
	if err != nil {
		return nil, "", err
	}
	return &types.SignedLink{Request: req, Signature: sig}, fp, nil
}

// saveLink writes a signed link request to --out, for a provider to
// submit, and prints what it wrote.
func (c *cmdCtx) saveLink(f *linkFlags, sl *types.SignedLink, chainID, fp string) error {
	lf, err := txbuild.NewLinkFile(sl)
	if err != nil {
		return err
	}
	if err := txbuild.SaveLinkFile(f.out, lf); err != nil {
		return err
	}
	c.msg("signed link request written to %s; the provider submits it with `mykey link submit-batch`", f.out)
	out := LinkFileJSON{File: f.out, ChainID: chainID, ProgramID: f.program, ProviderID: f.provider,
		ExpiresAt: lf.ExpiresAt, Fingerprint: fp}
	return c.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "signed link request: %s\nexpires:             %s\nfingerprint:         %s\n", out.File, out.ExpiresAt, fp)
	})
}

func printLink(w io.Writer, out *LinkJSON) {
	if out.Code == 0 {
		fmt.Fprintf(w, "linked: MyKey ID %s is linked to %q in program %q (block %d)\n", out.MyKeyID, out.ProviderID, out.ProgramID, out.Height)
		return
	}
	fmt.Fprintf(w, "not linked: %s (code %d, %s)\n", out.Log, out.Code, out.Reason)
	if out.MyKeyID != "" {
		fmt.Fprintf(w, "this card's MyKey ID: %s\n", out.MyKeyID)
	}
}

// precheckLink refuses, before the PIN is asked, a link the ledger would
// certainly refuse: unknown or closed program, unknown or suspended
// provider, revoked certificate, person already linked.
func (c *cmdCtx) precheckLink(ctx context.Context, n rpc.Node, now time.Time, program, provider string, certDER []byte) error {
	refuse := func(e *types.Error, format string, args ...any) error {
		return rejected("the link (checked before signing; nothing was signed)", e.Code, fmt.Sprintf(format, args...))
	}
	var prog types.Program
	a, err := rpc.Get(ctx, n, rpc.KeyProgram(program), &prog, false)
	if err != nil {
		return err
	}
	if !a.Found {
		return refuse(types.ErrUnknownProgram, "unknown program %q", program)
	}
	if t := now.Unix(); t < prog.LinkStart || t >= prog.LinkEnd {
		return refuse(types.ErrWindowClosed, "program %q takes links from %s to %s", program, unixText(prog.LinkStart), unixText(prog.LinkEnd))
	}
	var prov types.Provider
	if a, err = rpc.Get(ctx, n, rpc.KeyProvider(provider), &prov, false); err != nil {
		return err
	}
	if !a.Found {
		return refuse(types.ErrUnknownProvider, "unknown provider %q", provider)
	}
	if prov.Status == types.ProviderStatus_PROVIDER_STATUS_SUSPENDED {
		return refuse(types.ErrProviderSuspended, "provider %q is suspended", provider)
	}
	var cr types.CertRecord
	ref, err := certRefOf(certDER)
	if err != nil {
		return err
	}
	if a, err = certRecord(ctx, n, ref, &cr, false); err != nil {
		return err
	}
	if a.Found && cr.Revoked {
		return refuse(types.ErrCertRevoked, "this card's certificate was revoked: %s", cr.RevokeReason)
	}
	id, err := c.mykeyOf(ctx, certDER)
	if err != nil || id == "" {
		return err
	}
	var l types.Linkage
	if a, err = rpc.Get(ctx, n, rpc.KeyLink(program, id), &l, false); err != nil {
		return err
	}
	if a.Found && l.Status == types.LinkStatus_LINK_STATUS_ACTIVE {
		return refuse(types.ErrAlreadyLinked, "this card's MyKey ID %s is already linked to provider %q in program %q", id, l.ProviderId, program)
	}
	return nil
}

func unixText(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }
