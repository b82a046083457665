package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit/web"
)

func newServeCmd(f *flags) *cobra.Command {
	var (
		listen  string
		refresh time.Duration
		spool   string
	)
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:8080] [--refresh 1m]",
		Short: "Serve the web explorer on localhost",
		Long: `serve runs the auditor's web explorer of the public ledger: the summary, a
page per provider, the searchable day ledger (grants per program, provider
and day) with CSV download, charts of grants per day per provider, person
pages (totals against the cap, provider, linkage history; no charge), and
the history of corrections and successions. Every page says the height its
figures are proved at. It takes a verified snapshot at start and every
--refresh (and when asked on the page). If the node gives data that fails
verification, every page becomes an error page naming the node.

It prints "explorer: serving on http://ADDR" on stdout once it listens, and
runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := f.open(ctx)
			if err != nil {
				return err
			}
			host, _, err := net.SplitHostPort(listen)
			if err != nil {
				return usage("audit: --listen %q: %w", listen, err)
			}
			stderr := f.run.Env.Stderr
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				fmt.Fprintf(stderr, "explorer: WARNING: listening on %s, not only on this machine\n", listen)
			}
			srv, err := web.New(web.Options{Source: c, SpoolDir: spool, Refresh: refresh,
				Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return classify(fmt.Errorf("audit: %w", err))
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				srv.Run(ctx)
			}()
			go func() {
				<-ctx.Done()
				sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer scancel()
				hs.Shutdown(sctx)
			}()
			fmt.Fprintf(f.run.Env.Stdout, "explorer: serving on http://%s\n", ln.Addr())
			err = hs.Serve(ln)
			cancel()
			<-done
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return classify(err)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on")
	fl.DurationVar(&refresh, "refresh", 5*time.Minute, "how often to take a new verified snapshot (0: only at start and on request)")
	fl.StringVar(&spool, "spool-dir", "", "unused (the public snapshot spools no grant file); kept for scripts that pass it")
	return cmd
}
