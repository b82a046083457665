package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/node"
)

func statesyncCmd(e *env) *cobra.Command {
	var (
		home    string
		servers string
		back    int64
	)
	cmd := &cobra.Command{
		Use:   "statesync --home DIR --rpc-servers URL,URL",
		Short: "Configure a new node to join by state sync",
		Long: `statesync asks the first RPC server for a recent header (its latest height
minus --trust-back), checks that the other servers have the same header,
and writes [statesync] enable, rpc_servers, trust_height and trust_hash into
<home>/config/config.toml. Start the node with empty data: it fetches an app
snapshot from its peers, verifies it against the trusted header with the
light client, then follows the chain. Use servers you trust, run by
different operators.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := node.LoadConfig(home)
			if err != nil {
				return err
			}
			list := strings.Split(servers, ",")
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			t, err := node.TrustFromRPC(ctx, list, back)
			if err != nil {
				return err
			}
			c.EnableStateSync(list, t)
			if err := c.Save(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "trust_height %d\ntrust_hash   %X\n", t.Height, t.Hash)
			e.msg("state sync enabled in %s; start the node with empty data", node.ConfigPath(home))
			return nil
		},
	}
	homeFlag(cmd, &home)
	cmd.Flags().StringVar(&servers, "rpc-servers", "", "at least two RPC addresses of the network, comma-separated (required)")
	cmd.Flags().Int64Var(&back, "trust-back", 100, "trust the header this many blocks below the latest; at least the snapshot interval")
	_ = cmd.MarkFlagRequired("rpc-servers")
	return cmd
}
