package cardcmd

import (
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

// now is the clock of the testca commands (a variable for tests).
var now = time.Now

// NewTestCACmd returns `testca` with its subcommands init and issue.
func NewTestCACmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testca",
		Short: "Make a JPKI-shaped test CA and software cards (TEST-ONLY)",
		Long: "A test network trusts a JPKI-shaped test CA instead of J-LIS, and citizens are " +
			"software cards issued by it. Card files hold their private key in the clear: " +
			"they are for tests and demos only.",
	}
	cmd.AddCommand(newTestCAInitCmd(), newTestCAIssueCmd())
	return cmd
}

func newTestCAInitCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "init --out DIR",
		Short: "Make a test CA in DIR (ca.pem, ca.key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := testca.Init(out, now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "test CA written to %s (list %s as a trust anchor in a test genesis)\n",
				out, filepath.Join(out, testca.CertFile))
			_, err = cmd.OutOrStdout().Write(ca.CertPEM)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for the test CA (created if needed)")
	cmd.MarkFlagRequired("out")
	return cmd
}

func newTestCAIssueCmd() *cobra.Command {
	var caDir, out, pin string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "issue --ca DIR --out FILE [--pin 1234]",
		Short: "Issue a software My Number Card (a card file; TEST-ONLY)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cardfile.IsAuthPIN(pin) {
				return errors.New("testca: --pin must be 4 digits")
			}
			ca, err := testca.Load(caDir)
			if err != nil {
				return err
			}
			c, err := ca.IssueCardFile(pin, now())
			if err != nil {
				return err
			}
			if err := cardfile.Create(out, c); err != nil {
				return err
			}
			cert, err := x509.ParseCertificate(c.Certificate)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "card file written to %s (TEST-ONLY); use it with --card file:%s or `mykey card emulate --card %s`\n", out, out, out)
			s := Summarize(cert)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					File string `json:"file"`
					CertSummary
				}{out, s})
			}
			return s.print(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&caDir, "ca", "", "test CA directory (from `mykey testca init`)")
	cmd.Flags().StringVar(&out, "out", "", "card file to create (must not exist)")
	cmd.Flags().StringVar(&pin, "pin", "1234", "the card's 4-digit PIN")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the card as JSON")
	cmd.MarkFlagRequired("ca")
	cmd.MarkFlagRequired("out")
	return cmd
}

// fingerprint names a certificate for its holder (jpki.CertID's
// fingerprint); the ledger never stores it.
func fingerprint(cert *x509.Certificate) string { return jpki.IDOf(cert).Fingerprint() }
