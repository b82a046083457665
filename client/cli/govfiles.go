package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/txbuild"
)

// SignJSON is the --json output of `mykey gov sign`.
type SignJSON struct {
	Proposal   string   `json:"proposal"`
	Digest     string   `json:"digest"`
	Summary    string   `json:"summary"`
	Signatures []string `json:"signatures"` // files written
}

func newGovSignCmd(c *cmdCtx) *cobra.Command {
	var keys []string
	var out string
	cmd := &cobra.Command{
		Use:   "sign --key KEY [--key KEY...] PROPOSAL [--out SIG]",
		Short: "Sign a government proposal with your authority key (no node needed)",
		Long: `sign writes one signature file per key: by default PROPOSAL.<key id>.sig.json
next to the proposal. It shows on stderr what is signed; compare the digest
with the other key holders. Signing needs no node.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(keys) == 0 {
				return usageErr("--key is required")
			}
			if out != "" && len(keys) > 1 {
				return usageErr("--out names one signature file: give one --key")
			}
			p, a, err := txbuild.LoadProposal(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			c.msg("signing %s: %s\n  chain %s, sequence %d, digest %s", args[0], p.Summary, p.ChainID, p.Sequence, p.Digest)
			res := SignJSON{Proposal: args[0], Digest: p.Digest, Summary: p.Summary}
			for _, kp := range keys {
				s, err := signWith(kp, a)
				if err != nil {
					return err
				}
				path := out
				if path == "" {
					path = sigPath(args[0], s.Signer)
				}
				if err := txbuild.SaveSignature(path, s); err != nil {
					return err
				}
				res.Signatures = append(res.Signatures, path)
			}
			return c.output(res, func(w io.Writer) {
				for _, s := range res.Signatures {
					fmt.Fprintf(w, "signature written: %s\n", s)
				}
			})
		},
	}
	cmd.Flags().StringArrayVar(&keys, "key", nil, "government authority key file; repeatable")
	cmd.Flags().StringVar(&out, "out", "", "signature file to write (with one --key)")
	return cmd
}

// sigPath is the default signature file of a proposal and a signer.
func sigPath(proposal, signer string) string {
	base := strings.TrimSuffix(proposal, filepath.Ext(proposal))
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' {
			return '_'
		}
		return r
	}, signer)
	return base + "." + safe + ".sig.json"
}

func newGovSubmitCmd(c *cmdCtx) *cobra.Command {
	var keys []string
	cmd := &cobra.Command{
		Use:   "submit PROPOSAL [SIG...] [--key KEY...]",
		Short: "Combine the signatures of a proposal and send it",
		Long: `submit checks every signature file against the proposal, that the signers
are authority keys of the ledger and enough of them (its threshold), and
that the proposal's sequence is the ledger's next; then it sends the action
and waits for the block. --key adds signatures made on the spot.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, a, err := txbuild.LoadProposal(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			var (
				sigs  []*txbuild.SignatureFile
				names []string
			)
			for _, f := range args[1:] {
				s, err := txbuild.LoadSignature(f)
				if err != nil {
					return usageErr("%v", err)
				}
				sigs, names = append(sigs, s), append(names, f)
			}
			for _, kp := range keys {
				s, err := signWith(kp, a)
				if err != nil {
					return err
				}
				sigs, names = append(sigs, s), append(names, kp)
			}
			if len(sigs) == 0 {
				return usageErr("no signature: give signature files (from mykey gov sign) or --key")
			}
			return c.submitGov(cmd.Context(), a, sigs, names)
		},
	}
	cmd.Flags().StringArrayVar(&keys, "key", nil, "also sign with this authority key file; repeatable")
	return cmd
}

func newGovShowCmd(c *cmdCtx) *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE",
		Short: "Show what a proposal or signature file holds",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return c.showGovFile(cmd.Context(), args[0]) },
	}
}

func (c *cmdCtx) showGovFile(_ context.Context, path string) error {
	if p, _, err := txbuild.LoadProposal(path); err == nil {
		out := ProposalJSON{File: path, ChainID: p.ChainID, Sequence: p.Sequence, Action: p.Action, Summary: p.Summary, Digest: p.Digest}
		return c.output(out, func(w io.Writer) { printProposal(w, out) })
	}
	s, err := txbuild.LoadSignature(path)
	if err != nil {
		return usageErr("%s is neither a proposal nor a signature file", path)
	}
	return c.output(s, func(w io.Writer) {
		fmt.Fprintf(w, "signature of %s (public key %s)\nchain:    %s\nsequence: %d\naction:   %s\ndigest:   %s\n",
			s.Signer, s.PublicKey, s.ChainID, s.Sequence, s.Action, s.Digest)
	})
}
