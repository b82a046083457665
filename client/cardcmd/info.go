package cardcmd

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// MyKeyIDLookup finds the MyKey ID the ledger issued for a certificate.
// It returns "" and no error when the ledger has issued none yet.
type MyKeyIDLookup func(ctx context.Context, cert *x509.Certificate) (string, error)

// Info is the --json output of `mykey card info`.
type Info struct {
	Reader string `json:"reader"`
	CertSummary
	TriesLeft int `json:"tries_left"` // PIN tries left; 0 = blocked
	// MyKeyID is the ledger's MyKey ID for the certificate; empty when
	// none was issued or no lookup was made (then LookupError may say why).
	MyKeyID     string `json:"mykey_id,omitempty"`
	LookupError string `json:"lookup_error,omitempty"`
}

// NewCardCmd returns `card` with emulate and info under it.
func NewCardCmd(lookup MyKeyIDLookup) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "card",
		Short: "Use a My Number Card, or a software test card",
	}
	cmd.AddCommand(NewInfoCmd(lookup), NewEmulateCmd())
	return cmd
}

// NewInfoCmd returns `info`: the reader, the certificate, its fingerprint,
// the PIN tries left and, through lookup (nil: none), the MyKey ID. A
// failed lookup is reported, not fatal: the card part is still useful.
func NewInfoCmd(lookup MyKeyIDLookup) *cobra.Command {
	var spec string
	var wait time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info [--card SPEC] [--json]",
		Short: "Show the card's certificate, fingerprint, PIN tries and MyKey ID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			c, err := openCard(ctx, spec, wait, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer c.Close()
			der, err := c.Certificate()
			if err != nil {
				return err
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return fmt.Errorf("card: the certificate on the card does not parse: %w", err)
			}
			tries, err := c.TriesLeft()
			if err != nil {
				return err
			}
			info := Info{Reader: c.Reader(), CertSummary: Summarize(cert), TriesLeft: tries}
			if lookup != nil {
				id, err := lookup(ctx, cert)
				if err != nil {
					info.LookupError = err.Error()
					fmt.Fprintf(cmd.ErrOrStderr(), "could not look up the MyKey ID: %v\n", err)
				}
				info.MyKeyID = id
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			return info.print(cmd, lookup != nil)
		},
	}
	cmd.Flags().StringVar(&spec, "card", DefaultCard, CardUsage)
	cmd.Flags().DurationVar(&wait, "card-wait", time.Minute, "how long to wait for a reader and a card (0: do not wait)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (info Info) print(cmd *cobra.Command, looked bool) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "reader:      %s\n", info.Reader)
	if err := info.CertSummary.print(w); err != nil {
		return err
	}
	switch {
	case info.TriesLeft == 0:
		fmt.Fprintln(w, "PIN:         BLOCKED")
	default:
		fmt.Fprintf(w, "PIN:         %d tries left\n", info.TriesLeft)
	}
	switch {
	case info.MyKeyID != "":
		fmt.Fprintf(w, "MyKey ID:    %s\n", info.MyKeyID)
	case looked && info.LookupError == "":
		fmt.Fprintln(w, "MyKey ID:    none yet (issued on the first link)")
	}
	return nil
}
