package cli

import (
	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/node"
)

func startCmd(e *env) *cobra.Command {
	var home, abciApp string
	cmd := &cobra.Command{
		Use:   "start --home DIR",
		Short: "Run the node until SIGINT or SIGTERM",
		Long: `start runs CometBFT with the ledger in-process, as configured in
<home>/config/config.toml. Logs go to stderr (log_format plain or json). On
SIGINT or SIGTERM it stops consensus, closes the stores and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := node.LoadConfig(home)
			if err != nil {
				return err
			}
			logger, err := node.NewLogger(c.Comet, e.stderr)
			if err != nil {
				return err
			}
			if abciApp != "" {
				e.msg("mykeyd: running the %s ABCI application instead of the ledger (benchmark baseline only)", abciApp)
			}
			return node.RunBaseline(cmd.Context(), c, logger, abciApp)
		},
	}
	homeFlag(cmd, &home)
	// Benchmark baseline only (scripts/bench-net.sh): the same node and
	// configuration with CometBFT's kvstore example app instead of the
	// ledger. Hidden: a network of such nodes keeps no ledger.
	cmd.Flags().StringVar(&abciApp, "abci", "", "benchmark baseline only: run CometBFT's example app \""+node.ABCIKvstore+"\" instead of the ledger")
	_ = cmd.Flags().MarkHidden("abci")
	return cmd
}
