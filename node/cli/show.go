package cli

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cometbft/cometbft/p2p"
	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/node"
)

func showNodeIDCmd(e *env) *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "show-node-id",
		Short: "Print this node's P2P ID (peers list it as ID@host:port)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := node.LoadConfig(home)
			if err != nil {
				return err
			}
			nk, err := p2p.LoadNodeKey(c.Comet.NodeKeyFile())
			if err != nil {
				return fmt.Errorf("node key: %w", err)
			}
			fmt.Fprintln(e.stdout, nk.ID())
			return nil
		},
	}
	homeFlag(cmd, &home)
	return cmd
}

func showValidatorCmd(e *env) *cobra.Command {
	var (
		home   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show-validator",
		Short: "Print this node's validator public key, as genesis lists it (validator_key, hex)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := node.LoadConfig(home)
			if err != nil {
				return err
			}
			pub, err := node.ValidatorPubKey(c)
			if err != nil {
				return err
			}
			out := map[string]string{
				"type":          pub.Type(),
				"validator_key": hex.EncodeToString(pub.Bytes()),
				"address":       pub.Address().String(),
			}
			return e.print(asJSON, out, func(w io.Writer) { fmt.Fprintln(w, out["validator_key"]) })
		},
	}
	homeFlag(cmd, &home)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (type, validator_key, address)")
	return cmd
}
