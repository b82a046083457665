package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/report"
	"github.com/mykeyledger/mykey/client/cli/cmdenv"
)

// Exit statuses of audit errors: mykey's one scheme (package cmdenv), in
// which 5 and 6 are the auditor's.
const (
	ExitFailure   = cmdenv.ExitFailure
	ExitUsage     = cmdenv.ExitUsage
	ExitNotFound  = cmdenv.ExitNotFound
	ExitUntrusted = cmdenv.ExitUntrusted
	ExitMismatch  = cmdenv.ExitMismatch
)

// ExitError is an error with the exit status it ends the process with.
type ExitError = cmdenv.ExitError

// flags are the options every audit command takes, with the run they are
// part of (the world and mykey's own flags: --node, --network, --json).
type flags struct {
	run         *cmdenv.Run
	genesis     string
	trustHeight int64
	trustHash   string
	trustPeriod time.Duration
	witnesses   []string
	chainID     string
	insecure    bool
	headerWait  time.Duration
	// full: the command reads records only a validator's full RPC serves
	// (--charges), so a --network's default node is its first node's full
	// RPC rather than its public endpoint.
	full bool
}

// NewCmd returns `audit` and its subcommands, to mount on mykey's root
// (client/cli), which defines run's flags.
func NewCmd(run *cmdenv.Run) *cobra.Command {
	f := &flags{run: run}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the ledger as an auditor: every figure proved against block headers",
		Long: `audit reads the public grant ledger without trusting any node. Each answer
is proved against the app hash of a block header that CometBFT's light
client verified from a trust anchor you choose:

  --trust-height N --trust-hash HEX   a header you got from a source you trust
  --genesis FILE                      the network's genesis file (trust starts at
                                      its first block, signed by its validators)

With --network DIR the genesis is DIR's. Output says the height its figures
are proved at. --insecure-no-verify reads without verifying and says
UNVERIFIED. A node whose answer fails its proof is named, and the exit
status is 5; figures that do not reconcile exit 6.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.genesis, "genesis", "", "trust the chain from this genesis file (its validators must sign the first block)")
	pf.Int64Var(&f.trustHeight, "trust-height", 0, "trust anchor: height of a header you trust")
	pf.StringVar(&f.trustHash, "trust-hash", "", "trust anchor: hash (hex) of the header at --trust-height")
	pf.DurationVar(&f.trustPeriod, "trust-period", 0, "how long a verified header may vouch for later ones (default 336h; with --genesis, the chain's age + 336h)")
	pf.StringArrayVar(&f.witnesses, "witness", nil, "another node whose headers must agree (repeatable)")
	pf.StringVar(&f.chainID, "chain-id", "", "the chain ID to expect (default the genesis file's or the node's)")
	pf.BoolVar(&f.insecure, "insecure-no-verify", false, "do not verify anything; output says UNVERIFIED")
	pf.DurationVar(&f.headerWait, "header-wait", time.Minute, "how long to wait for the block whose header proves an answer")
	cmd.AddCommand(
		newSummaryCmd(f),
		newProviderCmd(f),
		newPersonCmd(f),
		newHistoryCmd(f),
		newExportCmd(f),
		newReconcileCmd(f),
		newServeCmd(f),
	)
	return cmd
}

// openTotals opens a client (open) and reads the totals every report
// starts from, proved at the latest verified height.
func (f *flags) openTotals(ctx context.Context) (*lightverify.Client, *report.Totals, error) {
	c, err := f.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	t, err := report.ReadTotals(ctx, c)
	if err != nil {
		return nil, nil, classify(err)
	}
	return c, t, nil
}

// openHistory opens a client and reads the totals (openTotals) and the
// history of government actions up to their height.
func (f *flags) openHistory(ctx context.Context) (*lightverify.Client, *report.Totals, *report.History, error) {
	c, t, err := f.openTotals(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := report.ReadHistory(ctx, c, t)
	if err != nil {
		return nil, nil, nil, classify(err)
	}
	return c, t, h, nil
}

// open resolves the node and the trust anchor and returns a client.
func (f *flags) open(ctx context.Context) (*lightverify.Client, error) {
	node, err := f.run.NodeURL(f.full)
	if err != nil {
		return nil, err
	}
	opts := lightverify.Options{
		Node: node, Witnesses: f.witnesses, ChainID: f.chainID, Genesis: f.genesis,
		TrustHeight: f.trustHeight, TrustPeriod: f.trustPeriod, Insecure: f.insecure, HeaderWait: f.headerWait,
	}
	if opts.Genesis == "" && opts.TrustHeight == 0 {
		lay, err := f.run.Network()
		if err != nil {
			return nil, err
		}
		if lay != nil {
			opts.Genesis = lay.Genesis
		}
	}
	if f.trustHash != "" || f.trustHeight != 0 {
		h, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(f.trustHash), "0x"))
		if err != nil || len(h) != 32 || f.trustHeight <= 0 {
			return nil, usage("audit: --trust-height N and --trust-hash (64 hex digits) go together")
		}
		opts.TrustHash = h
	}
	c, err := lightverify.New(ctx, opts)
	if err != nil {
		if errors.Is(err, lightverify.ErrNoAnchor) {
			return nil, &ExitError{Code: ExitUsage, Err: err}
		}
		return nil, classify(err)
	}
	return c, nil
}

func usage(format string, args ...any) error {
	return cmdenv.Errorf(ExitUsage, format, args...)
}

// mismatch is the error of figures that do not reconcile.
func mismatch(format string, args ...any) error {
	return cmdenv.Errorf(ExitMismatch, format, args...)
}

// classify gives an error its exit status.
func classify(err error) error {
	var ee *ExitError
	switch {
	case err == nil, errors.As(err, &ee):
		return err
	case errors.Is(err, report.ErrNotFound):
		return &ExitError{Code: ExitNotFound, Err: err}
	}
	if _, ok := lightverify.Untrusted(err); ok {
		return &ExitError{Code: ExitUntrusted, Err: err}
	}
	return &ExitError{Code: ExitFailure, Err: err}
}

// Proof says where a result's figures are proved, for --json.
type Proof struct {
	Node     string `json:"node"`
	ChainID  string `json:"chain_id"`
	Height   int64  `json:"height"`
	Verified bool   `json:"verified"`
	Anchor   string `json:"anchor"`
	AppHash  string `json:"app_hash,omitempty"`
}

func proofOf(c *lightverify.Client, height int64, appHash []byte) Proof {
	return Proof{Node: c.Node(), ChainID: c.ChainID(), Height: height, Verified: c.Verified(), Anchor: c.Anchor(), AppHash: hex.EncodeToString(appHash)}
}

// proofLine says in words where figures are proved.
func proofLine(c *lightverify.Client, height int64) string {
	if !c.Verified() {
		return fmt.Sprintf("UNVERIFIED: verification is off (--insecure-no-verify); figures as node %s gave them at height %d", c.Node(), height)
	}
	return fmt.Sprintf("Proved at height %d against the header of block %d, verified by the light client from the %s; node %s",
		height, height+1, c.Anchor(), c.Node())
}

// nonNil is s, or an empty slice for nil, so that --json writes [] rather
// than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// report writes a command's answer on stdout: v as JSON with --json, else
// the line saying where it is proved (at height) followed by text.
func (f *flags) report(c *lightverify.Client, height int64, v any, text func(io.Writer)) error {
	return f.run.Output(v, func(w io.Writer) {
		fmt.Fprintln(w, proofLine(c, height))
		text(w)
	})
}
