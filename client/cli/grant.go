package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/chargecsv"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
)

// Outcomes of a charge.
const (
	OutcomeGranted   = "granted"
	OutcomeDuplicate = "duplicate" // recorded before: never granted twice
	OutcomeRejected  = "rejected"
)

// ChargeResult is the fate of one charge (--json of `mykey grant`, and
// each element of `mykey grant import`'s results).
type ChargeResult struct {
	Line       int    `json:"line,omitempty"` // CSV line (imports)
	ProgramID  string `json:"program_id"`
	MyKeyID    string `json:"mykey_id"`
	ChargeRef  string `json:"charge_ref"`
	AmountYen  int64  `json:"amount_yen"`
	GrantedYen int64  `json:"granted_yen"` // granted by this submission
	Outcome    string `json:"outcome"`     // "granted", "duplicate" or "rejected"
	Code       uint32 `json:"code"`        // 0 granted; 14 duplicate_charge; ...
	Reason     string `json:"reason,omitempty"`
	Log        string `json:"log"`
	Height     int64  `json:"height,omitempty"`  // block the charge was judged in
	TxHash     string `json:"tx_hash,omitempty"` // "" for a duplicate found before sending
	// Recorded is, for a duplicate, the charge the ledger recorded before.
	Recorded *RecordedCharge `json:"recorded,omitempty"`
}

// RecordedCharge is a charge already on the ledger.
type RecordedCharge struct {
	MyKeyID    string `json:"mykey_id"`
	AmountYen  int64  `json:"amount_yen"`
	GrantedYen int64  `json:"granted_yen"`
	Height     int64  `json:"height"`
	// Same is true when it has this charge's amount and MyKey ID: a rerun,
	// not two different charges under one reference.
	Same bool `json:"same"`
	// Code and Rejected are the code and reason the ledger rejected the
	// recorded charge with (0 and "" when it was granted): a charge
	// reference is judged once, so it stays rejected.
	Code     uint32 `json:"code,omitempty"`
	Rejected string `json:"rejected,omitempty"`
}

// asRecordedRejection turns the result of a charge whose reference the
// ledger holds as a rejected charge into that rejection: it was judged
// once, rejected, and nothing was or will be granted for it.
func asRecordedRejection(r *ChargeResult) {
	rc := r.Recorded
	if rc == nil || rc.Code == 0 {
		return
	}
	r.Outcome, r.Code, r.Reason, r.GrantedYen = OutcomeRejected, rc.Code, rc.Rejected, 0
	r.Height = rc.Height
	r.Log = fmt.Sprintf("rejected when it was judged in block %d (%s); a charge reference is judged once, so it stays rejected", rc.Height, rc.Rejected)
	if !rc.Same {
		r.Log += fmt.Sprintf(" (that charge was %s by MyKey ID %s)", txbuild.Yen(rc.AmountYen), rc.MyKeyID)
	}
}

// GrantJSON is the --json output of `mykey grant`.
type GrantJSON struct {
	ProviderID string `json:"provider_id"`
	ChargeResult
}

type grantFlags struct {
	key, program, mykey, ref, at string
	amount                       int64
}

func newGrantCmd(c *cmdCtx) *cobra.Command {
	var f grantFlags
	cmd := &cobra.Command{
		Use:   "grant --key KEY --program ID --mykey ID --charge-ref REF --amount YEN",
		Short: "Record the bonus for one charge (provider)",
		Long: `grant records one charge a person linked to your provider made, signed with
your grant key; the ledger computes the bonus (for a percent program
min(floor(amount × rate), cap left, budget left)) and the result gives
granted_yen.

A charge reference is unique per program and provider: sending it again
grants nothing. If the ledger already holds the same charge (same amount
and MyKey ID), the outcome is "duplicate" and the exit status 0, so that a
retry after a lost answer is safe; the same reference with another charge
is a rejection (exit 3).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.runGrant(cmd.Context(), &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "the provider's grant key file")
	fl.StringVar(&f.program, "program", "", "program ID")
	fl.StringVar(&f.mykey, "mykey", "", "the person's MyKey ID")
	fl.StringVar(&f.ref, "charge-ref", "", "your unique reference of the charge (1-64 printable characters)")
	fl.Int64Var(&f.amount, "amount", 0, "the charge in yen")
	fl.StringVar(&f.at, "charged-at", "", "when the charge was made: RFC 3339 or Unix seconds (default now)")
	for _, name := range []string{"key", "program", "mykey", "charge-ref", "amount"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.AddCommand(newImportCmd(c))
	return cmd
}

func (c *cmdCtx) runGrant(ctx context.Context, f *grantFlags) error {
	key, err := loadKey(f.key, keyfile.RoleProvider)
	if err != nil {
		return err
	}
	ch := &types.Charge{ProgramId: f.program, MykeyId: f.mykey, ChargeRef: f.ref, AmountYen: f.amount, ChargedAt: c.Env.Now().Unix()}
	switch {
	case !txbuild.ValidID(f.program):
		return usageErr("--program %q is not a program ID", f.program)
	case !txbuild.ValidMyKeyID(f.mykey):
		return usageErr("--mykey %q: a MyKey ID is 8 characters of 0-9 and A-Z without I, L, O, U", f.mykey)
	case !txbuild.ValidChargeRef(f.ref):
		return usageErr("--charge-ref must be 1-%d printable ASCII characters", types.MaxChargeRefLen)
	case f.amount < 0 || f.amount > types.MaxAmountYen:
		return usageErr("--amount must be 0 to %d yen", int64(types.MaxAmountYen))
	}
	if f.at != "" {
		if ch.ChargedAt, err = chargecsv.ParseTime(f.at); err != nil {
			return usageErr("--charged-at: %v", err)
		}
	}
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	// A charge the ledger holds already is not sent again.
	found := make([]*ChargeResult, 1)
	if err := c.findRecorded(ctx, key.ID, []chargecsv.Row{{Charge: ch}}, found); err != nil {
		return err
	}
	r := found[0]
	if r == nil {
		tx, err := txbuild.GrantTx(key, st.ChainID, []*types.Charge{ch})
		if err != nil {
			return err
		}
		res, err := rpc.Submit(ctx, c.n, tx, c.submitOpts())
		if err != nil {
			return err
		}
		cr := chargeResult(0, ch, itemsOf(res, types.EventGrant, 1)[0], res, st.Height)
		r = &cr
		if r.Outcome == OutcomeDuplicate {
			if err := c.fillRecorded(ctx, key.ID, []*ChargeResult{r}); err != nil {
				return err
			}
			asRecordedRejection(r)
		}
	}
	out := GrantJSON{ProviderID: key.ID, ChargeResult: *r}
	if err := c.output(out, func(w io.Writer) { printCharge(w, &out.ChargeResult) }); err != nil {
		return err
	}
	if r.Outcome == OutcomeDuplicate && r.Recorded != nil && r.Recorded.Same {
		c.msg("charge %q was recorded before (block %d, %s granted): nothing more granted", r.ChargeRef, r.Recorded.Height, txbuild.Yen(r.Recorded.GrantedYen))
		return nil
	}
	if r.Code != 0 {
		return rejected(fmt.Sprintf("charge %q", r.ChargeRef), r.Code, r.Log)
	}
	return nil
}

// chargeResult reads one charge's fate from its item. before is the
// height when the run started: a transaction an earlier run had sent and
// that was committed by then granted nothing now (its charges are
// duplicates of themselves).
func chargeResult(line int, ch *types.Charge, it rpc.Item, res *rpc.Result, before int64) ChargeResult {
	r := ChargeResult{Line: line, ProgramID: ch.ProgramId, MyKeyID: ch.MykeyId, ChargeRef: ch.ChargeRef,
		AmountYen: ch.AmountYen, Code: it.Code(), Log: it.Get(types.AttrLog), TxHash: res.HashHex(), Outcome: OutcomeGranted}
	if res.Stage == rpc.StageBlock {
		r.Height = res.Height
	}
	switch {
	case it.Accepted() && res.Resent && res.Height <= before:
		r.Outcome, r.Code, r.Reason = OutcomeDuplicate, types.ErrDuplicateCharge.Code, types.ErrDuplicateCharge.Name
		r.Log = fmt.Sprintf("%s: recorded in block %d by the same transaction, sent before", types.ErrDuplicateCharge.Msg, res.Height)
	case it.Accepted():
		r.GrantedYen = it.Int(types.AttrGrantedYen)
		r.Log = "ok"
	case r.Code == types.ErrDuplicateCharge.Code:
		r.Outcome, r.Reason = OutcomeDuplicate, types.CodeName(r.Code)
	default:
		r.Outcome, r.Reason = OutcomeRejected, types.CodeName(r.Code)
		if r.Code == 0 { // no per-item outcome: never count it as granted
			r.Code = types.ErrInternal.Code
		}
	}
	return r
}

// fillRecorded looks up what the ledger recorded for duplicate charges.
func (c *cmdCtx) fillRecorded(ctx context.Context, provider string, rs []*ChargeResult) error {
	paths := make([]string, len(rs))
	for i, r := range rs {
		paths[i] = "/" + rpc.KeyCharge(r.ProgramID, provider, r.ChargeRef)
	}
	answers, err := c.n.QueryMany(ctx, paths)
	if err != nil {
		return err
	}
	for i, a := range answers {
		if !rpc.Found(a) {
			continue
		}
		var g types.GrantRecord
		if err := g.Unmarshal(a.Value); err != nil {
			return fmt.Errorf("cli: charge record %s does not decode: %w", paths[i], err)
		}
		rs[i].Recorded = recorded(&g, rs[i].AmountYen, rs[i].MyKeyID)
	}
	return nil
}

func recorded(g *types.GrantRecord, amount int64, mykey string) *RecordedCharge {
	rc := &RecordedCharge{MyKeyID: g.MykeyId, AmountYen: g.AmountYen, GrantedYen: g.GrantedYen,
		Height: g.Height, Same: g.AmountYen == amount && g.MykeyId == mykey, Code: g.Code}
	if g.Code != 0 {
		rc.Rejected = codeReason(g.Code)
	}
	return rc
}

// codeReason names a rejection code.
func codeReason(code uint32) string {
	if n := types.CodeName(code); n != "" {
		return n
	}
	return fmt.Sprintf("code %d", code)
}

func printCharge(w io.Writer, r *ChargeResult) {
	switch r.Outcome {
	case OutcomeGranted:
		fmt.Fprintf(w, "granted %s for charge %q (%s by MyKey ID %s), block %d\n",
			txbuild.Yen(r.GrantedYen), r.ChargeRef, txbuild.Yen(r.AmountYen), r.MyKeyID, r.Height)
	case OutcomeDuplicate:
		fmt.Fprintf(w, "duplicate: charge %q was recorded before", r.ChargeRef)
		if r.Recorded != nil {
			fmt.Fprintf(w, " in block %d (%s granted then)", r.Recorded.Height, txbuild.Yen(r.Recorded.GrantedYen))
			if !r.Recorded.Same {
				fmt.Fprintf(w, " for another charge (%s by MyKey ID %s)", txbuild.Yen(r.Recorded.AmountYen), r.Recorded.MyKeyID)
			}
		}
		fmt.Fprintln(w, "; nothing granted now")
	default:
		fmt.Fprintf(w, "not granted: charge %q: %s (code %d, %s)\n", r.ChargeRef, r.Log, r.Code, r.Reason)
	}
}
