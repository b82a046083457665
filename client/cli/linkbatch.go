package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/cli/cmdenv"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
)

// LinkBatchJSON is the --json output of `mykey link submit-batch`.
type LinkBatchJSON struct {
	ProviderID string            `json:"provider_id"`
	Links      int               `json:"links"`
	Accepted   int               `json:"accepted"`
	Rejected   int               `json:"rejected"`
	Skipped    []SkippedFile     `json:"skipped"`
	Results    []LinkBatchResult `json:"results"`
}

// LinkBatchResult is one link of a batch.
type LinkBatchResult struct {
	File        string `json:"file"`
	Fingerprint string `json:"fingerprint"`
	ProgramID   string `json:"program_id"`
	MyKeyID     string `json:"mykey_id"`
	Height      int64  `json:"height"`
	Code        uint32 `json:"code"`
	Reason      string `json:"reason,omitempty"`
	Log         string `json:"log"`
	Outcome     string `json:"outcome"` // "accepted" or "rejected"
	TxHash      string `json:"tx_hash"`
}

// SkippedFile is a file that was not sent, and why.
type SkippedFile struct {
	File string `json:"file"`
	Err  string `json:"error"`
}

func newLinkBatchCmd(c *cmdCtx) *cobra.Command {
	var keyPath string
	var skipBad bool
	cmd := &cobra.Command{
		Use:   "submit-batch --key KEY FILE|DIR...",
		Short: "Submit citizens' signed link requests (from `mykey link --out`) as a provider",
		Long: `submit-batch reads signed link request files (a directory means every *.json
file in it), checks that each was signed for this network and for the
provider of --key and has not expired, and sends them in batches signed
with the provider's grant key. Each link is judged on its own; the result
lists every link's MyKey ID and outcome. A file that cannot be sent stops
the command before anything is sent, unless --skip-bad.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runLinkBatch(cmd.Context(), keyPath, args, skipBad)
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "the provider's grant key file")
	cmd.Flags().BoolVar(&skipBad, "skip-bad", false, "send the good files even if some cannot be sent")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

type linkInput struct {
	file string
	lf   *txbuild.LinkFile
	sl   *types.SignedLink
}

func (c *cmdCtx) runLinkBatch(ctx context.Context, keyPath string, args []string, skipBad bool) error {
	key, err := loadKey(keyPath, keyfile.RoleProvider)
	if err != nil {
		return err
	}
	files, err := expandFiles(args)
	if err != nil {
		return err
	}
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	in, skipped := loadLinkFiles(files, key.ID, st)
	for _, s := range skipped {
		c.msg("%s: %s", s.File, s.Err)
	}
	if len(skipped) > 0 && !skipBad {
		return usageErr("%d of %d files cannot be sent (listed above); nothing was sent: remove them, or pass --skip-bad", len(skipped), len(files))
	}
	out := LinkBatchJSON{ProviderID: key.ID, Skipped: skipped, Results: []LinkBatchResult{}}
	if len(in) == 0 {
		return usageErr("no link request to send")
	}
	links := make([]*types.SignedLink, len(in))
	for i := range in {
		links[i] = in[i].sl
	}
	txs, err := txbuild.LinkBatchTxs(key, st.ChainID, links)
	if err != nil {
		return err
	}
	for bi, s := range txs {
		c.msg("batch %d/%d: %d link(s)", bi+1, len(txs), s.N)
		res, err := rpc.Submit(ctx, c.n, s.Tx, c.submitOpts())
		if err != nil {
			return fmt.Errorf("%w (batches before %d were sent; a rerun does not link anyone twice)", err, bi+1)
		}
		items := itemsOf(res, types.EventLink, s.N)
		for k := 0; k < s.N; k++ {
			li := in[s.First+k]
			it := items[k]
			r := LinkBatchResult{File: li.file, Fingerprint: li.lf.Fingerprint, ProgramID: li.lf.ProgramID,
				MyKeyID: it.Get(types.AttrMyKeyID), Code: it.Code(), Log: it.Get(types.AttrLog), Outcome: "accepted",
				TxHash: res.HashHex()}
			if res.Stage == rpc.StageBlock {
				r.Height = res.Height
			}
			if r.Code != 0 {
				r.Outcome, r.Reason = "rejected", types.CodeName(r.Code)
				// The event may name a MyKey ID issued only in the
				// rejected attempt: report the ledger's.
				r.MyKeyID, _ = c.mykeyOf(ctx, li.sl.GetRequest().GetCertificate())
				out.Rejected++
			} else {
				out.Accepted++
			}
			out.Results = append(out.Results, r)
		}
	}
	out.Links = len(out.Results)
	if err := c.output(out, func(w io.Writer) { printLinkBatch(w, &out) }); err != nil {
		return err
	}
	if firstRej := out.firstRejected(); firstRej != nil {
		return &cmdenv.ExitError{Code: ExitRejected, Err: fmt.Errorf("%d of %d link(s) rejected; first: %s", out.Rejected, out.Links,
			RejectionText(firstRej.File, firstRej.Code, firstRej.Log))}
	}
	return nil
}

// loadLinkFiles reads signed link request files and keeps those signed for
// the node's chain and the provider, and not expired; the others are
// skipped, with why.
func loadLinkFiles(files []string, provider string, st *rpc.Status) ([]linkInput, []SkippedFile) {
	var (
		in      []linkInput
		skipped []SkippedFile
	)
	for _, f := range files {
		lf, sl, err := txbuild.LoadLinkFile(f)
		switch {
		case err != nil:
		case lf.ChainID != st.ChainID:
			err = fmt.Errorf("signed for chain %q, the node's chain is %q", lf.ChainID, st.ChainID)
		case lf.ProviderID != provider:
			err = fmt.Errorf("signed for provider %q, the key is %q's", lf.ProviderID, provider)
		case sl.Request.ExpiresAt <= st.Time.Unix():
			err = fmt.Errorf("expired at %s: the citizen must sign again", lf.ExpiresAt)
		}
		if err != nil {
			skipped = append(skipped, SkippedFile{File: f, Err: err.Error()})
			continue
		}
		in = append(in, linkInput{file: f, lf: lf, sl: sl})
	}
	return in, skipped
}

// firstRejected is the first rejected link, nil if none was.
func (out *LinkBatchJSON) firstRejected() *LinkBatchResult {
	for i := range out.Results {
		if out.Results[i].Code != 0 {
			return &out.Results[i]
		}
	}
	return nil
}

func printLinkBatch(w io.Writer, out *LinkBatchJSON) {
	fmt.Fprintf(w, "%d link(s): %d accepted, %d rejected\n", out.Links, out.Accepted, out.Rejected)
	for _, r := range out.Results {
		if r.Code == 0 {
			fmt.Fprintf(w, "  %s  MyKey ID %s  linked (block %d)\n", r.File, r.MyKeyID, r.Height)
		} else {
			fmt.Fprintf(w, "  %s  rejected: %s (code %d, %s)\n", r.File, r.Log, r.Code, r.Reason)
		}
	}
}

// itemsOf returns exactly n items of type typ for a result: the items'
// own events when the ledger judged each, else (the transaction refused as
// a whole) n copies of the transaction's code and log.
func itemsOf(res *rpc.Result, typ string, n int) []rpc.Item {
	var got []rpc.Item
	for _, it := range rpc.Items(res.Events) {
		if it.Type == typ {
			got = append(got, it)
		}
	}
	if len(got) == n {
		return got
	}
	whole := rpc.Item{Type: typ, Attrs: map[string]string{
		types.AttrOutcome: types.OutcomeRejected, types.AttrCode: fmt.Sprint(res.Code), types.AttrReason: types.CodeName(res.Code), types.AttrLog: res.Log}}
	if res.Code == 0 {
		// Accepted without per-item events: should not happen; say so.
		whole.Attrs[types.AttrOutcome], whole.Attrs[types.AttrCode] = "unknown", fmt.Sprint(types.ErrInternal.Code)
		whole.Attrs["log"] = "the node reported no per-item outcome: look the transaction up with mykey query tx"
	}
	out := make([]rpc.Item, n)
	for i := range out {
		out[i] = whole
	}
	return out
}

// expandFiles turns FILE and DIR arguments into files (DIR: its *.json).
func expandFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// loadKey loads a key file and checks its role.
func loadKey(path, role string) (*keyfile.Key, error) {
	if path == "" {
		return nil, usageErr("--key is required: the %s key file", role)
	}
	k, err := keyfile.Load(path)
	if err != nil {
		return nil, err
	}
	if k.Role != role {
		what := map[string]string{keyfile.RoleProvider: "a provider's grant key", keyfile.RoleGovernment: "a government authority key"}[role]
		return nil, usageErr("%s is a %s key (%q), not %s", path, k.Role, k.ID, what)
	}
	return k, nil
}

// plural is "1 charge" / "2 charges".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(word, "s"))
}
