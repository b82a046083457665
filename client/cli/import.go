package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/chargecsv"
	"github.com/mykeyledger/mykey/client/cli/cmdenv"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
)

// ImportJSON is the --json output of `mykey grant import`.
type ImportJSON struct {
	File       string `json:"file"`
	ProviderID string `json:"provider_id"`
	Rows       int    `json:"rows"` // good rows in the file
	// Counts over Results.
	Granted    int   `json:"granted"`
	GrantedYen int64 `json:"granted_yen"`
	Duplicates int   `json:"duplicates"`
	// Conflicts are duplicates whose reference the ledger holds for a
	// different charge (another amount or MyKey ID).
	Conflicts int `json:"conflicts"`
	Rejected  int `json:"rejected"`
	// Unsent are rows not judged because the run stopped early.
	Unsent   int                `json:"unsent"`
	BadRows  []chargecsv.BadRow `json:"bad_rows"`
	Batches  []BatchJSON        `json:"batches"`
	Results  []ChargeResult     `json:"results"`
	Complete bool               `json:"complete"` // every good row judged
	DryRun   bool               `json:"dry_run,omitempty"`
}

// BatchJSON is one grant transaction of an import.
type BatchJSON struct {
	TxHash  string `json:"tx_hash"`
	Stage   string `json:"stage"`
	Height  int64  `json:"height"`
	Code    uint32 `json:"code"`
	Log     string `json:"log"`
	Charges int    `json:"charges"`
	Lines   [2]int `json:"lines"` // first and last CSV line
}

type importFlags struct {
	key, program      string
	batch, inflight   int
	skipBad, dryRun   bool
	quiet             bool
	maxListedProblems int
}

func newImportCmd(c *cmdCtx) *cobra.Command {
	f := importFlags{maxListedProblems: 20}
	cmd := &cobra.Command{
		Use:   "import --key KEY FILE.csv",
		Short: "Record the bonus for a file of charges, in batches (provider)",
		Long: `import reads a CSV file of charges with the header
  program_id,mykey_id,charge_ref,amount_yen,charged_at
(program_id may be left out with --program; charged_at is RFC 3339 or Unix
seconds; # starts a comment), checks every row, and sends the charges in
grant transactions of --batch charges, showing progress on stderr.

A file with bad rows is not sent at all: each bad row is listed with its
line number (use --skip-bad to send the good rows). Charges the ledger
already holds are found before sending and reported as duplicates, so
rerunning a file after an interruption grants every charge exactly once.

Exit status 0 when every row has been judged and none was rejected (a
duplicate of the same charge is not a rejection); 3 when the ledger
rejected some (all are listed); 1 when the run stopped early (rerun it).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.runImport(cmd.Context(), &f, args[0]) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "the provider's grant key file")
	fl.StringVar(&f.program, "program", "", "program of rows when the file has no program_id column")
	fl.IntVar(&f.batch, "batch", txbuild.DefaultChargesPerTx, "charges per grant transaction")
	fl.IntVar(&f.inflight, "inflight", 4, "transactions waiting for a block at once")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "send the good rows of a file with bad rows")
	fl.BoolVar(&f.dryRun, "dry-run", false, "check the file and the ledger, send nothing")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func (c *cmdCtx) runImport(ctx context.Context, f *importFlags, path string) error {
	key, err := loadKey(f.key, keyfile.RoleProvider)
	if err != nil {
		return err
	}
	if f.batch < 1 || f.batch > types.MaxChargesPerTx {
		return usageErr("--batch must be 1-%d", types.MaxChargesPerTx)
	}
	if f.inflight < 1 {
		return usageErr("--inflight must be at least 1")
	}
	if f.program != "" && !txbuild.ValidID(f.program) {
		return usageErr("--program %q is not a program ID", f.program)
	}
	parsed, err := readCharges(path, f.program)
	if err != nil {
		return err
	}
	out := &ImportJSON{File: path, ProviderID: key.ID, Rows: len(parsed.Rows), BadRows: parsed.Bad,
		Batches: []BatchJSON{}, Results: []ChargeResult{}, DryRun: f.dryRun}
	if out.BadRows == nil {
		out.BadRows = []chargecsv.BadRow{}
	}
	if err := c.checkBadRows(out, parsed, f); err != nil {
		return err
	}
	st, err := c.status(ctx)
	if err != nil {
		return err
	}

	// Charges already on the ledger are duplicates: report, do not send.
	results := make([]*ChargeResult, len(parsed.Rows))
	send, sendRows, err := c.unrecorded(ctx, key.ID, parsed.Rows, results, f.quiet)
	if err != nil {
		return err
	}
	if f.dryRun {
		out.Unsent = len(send)
		return c.finishImport(out, results, f)
	}
	txs, err := txbuild.GrantTxs(key, st.ChainID, send, f.batch)
	if err != nil {
		return err
	}
	runErr := c.sendGrants(ctx, txs, importBatch{rows: parsed.Rows, sendRows: sendRows, results: results, out: out, height: st.Height}, f)
	// Duplicates the ledger found while sending (another run's transaction
	// went first): say what it holds.
	if err := c.explainLateDuplicates(ctx, key.ID, results); err != nil && runErr == nil {
		runErr = err
	}
	for _, r := range results {
		if r == nil {
			out.Unsent++
		}
	}
	ferr := c.finishImport(out, results, f)
	if runErr != nil {
		return fmt.Errorf("%w; %d of %d charges were judged before it stopped: run the same command again to send the rest (nothing is granted twice)",
			runErr, len(parsed.Rows)-out.Unsent, len(parsed.Rows))
	}
	return ferr
}

// readCharges reads and checks a CSV file of charges (program: the
// program of rows without a program_id column).
func readCharges(path, program string) (*chargecsv.File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	parsed, err := chargecsv.Parse(file, chargecsv.Options{DefaultProgram: program})
	file.Close()
	if err != nil {
		return nil, usageErr("%s: %v", path, err)
	}
	return parsed, nil
}

// checkBadRows lists the file's bad rows on stderr; unless --skip-bad,
// it prints the result (nothing sent) and refuses the file.
func (c *cmdCtx) checkBadRows(out *ImportJSON, parsed *chargecsv.File, f *importFlags) error {
	if len(parsed.Bad) == 0 {
		return nil
	}
	for i, b := range parsed.Bad {
		if i == f.maxListedProblems {
			c.msg("%s: ... and %d more bad rows", out.File, len(parsed.Bad)-i)
			break
		}
		c.msg("%s:%d: %s", out.File, b.Line, b.Err)
	}
	if f.skipBad {
		return nil
	}
	out.Unsent = len(parsed.Rows)
	_ = c.output(out, func(io.Writer) {})
	return usageErr("%s has %s (listed above); nothing was sent: fix them, or pass --skip-bad to send the %d good rows",
		out.File, plural(len(parsed.Bad), "bad row"), len(parsed.Rows))
}

// unrecorded marks in results the rows whose charge the ledger already
// holds (duplicates) and returns the others' charges, to send, with their
// indexes in rows.
func (c *cmdCtx) unrecorded(ctx context.Context, provider string, rows []chargecsv.Row, results []*ChargeResult, quiet bool) ([]*types.Charge, []int, error) {
	if len(rows) > 0 && !quiet {
		c.msg("checking %s against the ledger at %s", plural(len(rows), "charge"), c.n.URL())
	}
	if err := c.findRecorded(ctx, provider, rows, results); err != nil {
		return nil, nil, err
	}
	var (
		send     []*types.Charge
		sendRows []int // index into rows
	)
	for i, row := range rows {
		if results[i] == nil {
			send = append(send, row.Charge)
			sendRows = append(sendRows, i)
		}
	}
	if dups := len(rows) - len(send); dups > 0 && !quiet {
		c.msg("%s already on the ledger (duplicates, not sent again)", plural(dups, "charge"))
	}
	return send, sendRows, nil
}

// importBatch is what sendGrants fills as the ledger judges the batches.
type importBatch struct {
	rows     []chargecsv.Row
	sendRows []int // the rows sent, in the order of the transactions' charges
	results  []*ChargeResult
	out      *ImportJSON
	height   int64 // the node's height before sending
}

// sendGrants sends the grant transactions, showing progress, and records
// each charge's outcome and each batch; its error stops the run early.
func (c *cmdCtx) sendGrants(ctx context.Context, txs []txbuild.Signed, b importBatch, f *importFlags) error {
	prog := newProgress(c.Env.Stderr, c.Env.StderrTTY && !f.quiet, f.quiet, len(b.rows), len(txs))
	prog.add(countOutcomes(b.results))
	err := c.sendBatches(ctx, txs, f.inflight, func(bi int, s txbuild.Signed, res *rpc.Result) {
		items := itemsOf(res, types.EventGrant, s.N)
		var tl tally
		for k := 0; k < s.N; k++ {
			ri := b.sendRows[s.First+k]
			row := b.rows[ri]
			r := chargeResult(row.Line, row.Charge, items[k], res, b.height)
			b.results[ri] = &r
			tl.count(&r)
		}
		b.out.Batches = append(b.out.Batches, BatchJSON{TxHash: res.HashHex(), Stage: res.Stage, Height: res.Height,
			Code: res.Code, Log: res.Log, Charges: s.N,
			Lines: [2]int{b.rows[b.sendRows[s.First]].Line, b.rows[b.sendRows[s.First+s.N-1]].Line}})
		prog.batch(bi, s.N, res.Height, tl)
	})
	prog.done()
	return err
}

// explainLateDuplicates says what the ledger holds for the duplicates it
// found while sending.
func (c *cmdCtx) explainLateDuplicates(ctx context.Context, provider string, results []*ChargeResult) error {
	var late []*ChargeResult
	for _, r := range results {
		if r != nil && r.Outcome == OutcomeDuplicate && r.Recorded == nil {
			late = append(late, r)
		}
	}
	if len(late) == 0 {
		return nil
	}
	err := c.fillRecorded(ctx, provider, late)
	for _, r := range late {
		asRecordedRejection(r)
	}
	return err
}

// findRecorded marks the rows whose charge the ledger already holds.
func (c *cmdCtx) findRecorded(ctx context.Context, provider string, rows []chargecsv.Row, results []*ChargeResult) error {
	paths := make([]string, len(rows))
	for i, row := range rows {
		paths[i] = "/" + rpc.KeyCharge(row.Charge.ProgramId, provider, row.Charge.ChargeRef)
	}
	answers, err := c.n.QueryMany(ctx, paths)
	if err != nil {
		return err
	}
	for i, a := range answers {
		if a.Code != 0 {
			return fmt.Errorf("cli: %s refused the query of %s: %s", c.n.URL(), paths[i], a.Log)
		}
		if !rpc.Found(a) {
			continue
		}
		var g types.GrantRecord
		if err := g.Unmarshal(a.Value); err != nil {
			return fmt.Errorf("cli: charge record %s does not decode: %w", paths[i], err)
		}
		ch := rows[i].Charge
		results[i] = &ChargeResult{Line: rows[i].Line, ProgramID: ch.ProgramId, MyKeyID: ch.MykeyId, ChargeRef: ch.ChargeRef,
			AmountYen: ch.AmountYen, Outcome: OutcomeDuplicate, Code: types.ErrDuplicateCharge.Code,
			Reason: types.ErrDuplicateCharge.Name, Height: g.Height,
			Log:      fmt.Sprintf("%s: recorded in block %d", types.ErrDuplicateCharge.Msg, g.Height),
			Recorded: recorded(&g, ch.AmountYen, ch.MykeyId)}
		asRecordedRejection(results[i])
	}
	return nil
}

// finishImport fills the totals, prints the result and picks the exit.
func (c *cmdCtx) finishImport(out *ImportJSON, results []*ChargeResult, f *importFlags) error {
	for _, r := range results {
		if r == nil {
			continue
		}
		out.Results = append(out.Results, *r)
		switch r.Outcome {
		case OutcomeGranted:
			out.Granted++
			out.GrantedYen += r.GrantedYen
		case OutcomeDuplicate:
			out.Duplicates++
			if r.Recorded != nil && !r.Recorded.Same {
				out.Conflicts++
			}
		default:
			out.Rejected++
		}
	}
	out.Complete = out.Unsent == 0 && !out.DryRun
	err := c.output(out, func(w io.Writer) {
		verb := "judged"
		if out.DryRun {
			verb = "checked (dry run, nothing sent)"
		}
		fmt.Fprintf(w, "%s: %s %s\n", out.File, plural(out.Rows, "charge"), verb)
		fmt.Fprintf(w, "  granted:    %d (%s)\n", out.Granted, txbuild.Yen(out.GrantedYen))
		fmt.Fprintf(w, "  duplicates: %d (recorded before; nothing granted again)", out.Duplicates)
		if out.Conflicts > 0 {
			fmt.Fprintf(w, ", %d of them for a different charge", out.Conflicts)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  rejected:   %d\n", out.Rejected)
		if out.Unsent > 0 {
			fmt.Fprintf(w, "  not sent:   %d\n", out.Unsent)
		}
		if len(out.BadRows) > 0 {
			fmt.Fprintf(w, "  bad rows:   %d (skipped)\n", len(out.BadRows))
		}
		listed := 0
		for _, r := range out.Results {
			if r.Outcome == OutcomeGranted || (r.Outcome == OutcomeDuplicate && (r.Recorded == nil || r.Recorded.Same)) {
				continue
			}
			if listed == f.maxListedProblems {
				fmt.Fprintln(w, "  ... more in --json")
				break
			}
			listed++
			fmt.Fprintf(w, "  line %d %q: ", r.Line, r.ChargeRef)
			printCharge(w, &r)
		}
	})
	if err != nil {
		return err
	}
	if out.Rejected > 0 || out.Conflicts > 0 {
		return &cmdenv.ExitError{Code: ExitRejected, Err: errors.New(importProblem(out))}
	}
	return nil
}

func importProblem(out *ImportJSON) string {
	for _, r := range out.Results {
		if r.Outcome == OutcomeRejected || (r.Recorded != nil && !r.Recorded.Same) {
			first := RejectionText(fmt.Sprintf("line %d (charge %q)", r.Line, r.ChargeRef), r.Code, r.Log)
			return fmt.Sprintf("%d charge(s) rejected and %d reference(s) held for a different charge; first: %s",
				out.Rejected, out.Conflicts, first)
		}
	}
	return "charges rejected"
}
