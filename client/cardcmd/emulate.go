package cardcmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/softcard"
	"github.com/mykeyledger/mykey/client/vpcd"
	"github.com/mykeyledger/mykey/internal/cardfile"
)

// NewEmulateCmd returns `emulate`: a software card in pcscd's virtual
// reader until interrupted.
func NewEmulateCmd() *cobra.Command {
	var path, addr string
	cmd := &cobra.Command{
		Use:   "emulate --card FILE [--vpcd HOST:PORT]",
		Short: "Put a software card file into the vpcd virtual reader (TEST-ONLY)",
		Long: "Connects a software My Number Card to pcscd's vpcd driver (Debian package " +
			"vsmartcard-vpcd), so that it appears in the reader \"Virtual PCD 00 00\" " +
			"(--vpcd 127.0.0.1:35964 for \"Virtual PCD 00 01\") and answers as a JPKI card. " +
			"The PIN counter is kept in the card file. Stop with Ctrl-C, which removes the card.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path = strings.TrimPrefix(path, "file:")
			c, err := cardfile.Load(path)
			if err != nil {
				return err
			}
			cert, err := c.ParsedCertificate()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			stderr := cmd.ErrOrStderr()
			state := "PIN: " + fmt.Sprint(c.TriesLeft) + " tries left"
			if c.Blocked() {
				state = "PIN BLOCKED"
			}
			fmt.Fprintf(stderr, "emulating the card %s (fingerprint %s, %s); Ctrl-C removes it\n",
				path, fingerprint(cert), state)
			sc := softcard.New(softcard.FileStore(path))
			sc.OnError = func(err error) { fmt.Fprintf(stderr, "card file error (the card answered 6581): %v\n", err) }
			return vpcd.Serve(ctx, sc, vpcd.Options{
				Addr: addr,
				Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
			})
		},
	}
	cmd.Flags().StringVar(&path, "card", "", "the card file (from `mykey testca issue`)")
	cmd.Flags().StringVar(&addr, "vpcd", vpcd.DefaultAddr, "host:port of pcscd's vpcd driver")
	cmd.MarkFlagRequired("card")
	return cmd
}
