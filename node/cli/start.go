package cli

import (
	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/node"
)

func startCmd(e *env) *cobra.Command {
	var home string
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
			return node.Run(cmd.Context(), c, logger)
		},
	}
	homeFlag(cmd, &home)
	return cmd
}
