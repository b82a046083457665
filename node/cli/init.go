package cli

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/node"
)

func initCmd(e *env) *cobra.Command {
	var (
		opts   node.InitOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "init --home DIR --chain-id ID --moniker NAME",
		Short: "Set up a node's home: config.toml, node key and validator key",
		Long: `init writes <home>/config/config.toml (CometBFT's settings and the ledger's
[mykey] section), the node key and the validator key. Existing files are
kept. The genesis file comes from the network (the government publishes it;
mykeyd testnet writes one for a test network): pass it with --genesis or
copy it to <home>/config/genesis.json. Print the validator key for the
genesis with show-validator.

Every node of a network holds the network pseudonym key (config/
pseudonym_key.json), from which certificate indexes and MyKey IDs are
derived; genesis holds only its commitment (pseudonym_commitment, printed
here). init generates a key for the first node of a new network; a node
joining a network must be given that network's key (--pseudonym-key, from
the government's key ceremony), and with --genesis none is generated.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			res, err := node.InitHome(opts)
			if err != nil {
				return err
			}
			for _, f := range res.Created {
				e.msg("wrote %s", f)
			}
			out := map[string]string{
				"home":          opts.Home,
				"chain_id":      opts.ChainID,
				"node_id":       string(res.NodeID),
				"validator_key": hex.EncodeToString(res.ValidatorKey),
			}
			if res.PseudonymCommitment != nil {
				out["pseudonym_commitment"] = hex.EncodeToString(res.PseudonymCommitment)
			}
			err = e.print(asJSON, out, func(w io.Writer) {
				fmt.Fprintf(w, "node_id       %s\nvalidator_key %s\n", out["node_id"], out["validator_key"])
				if c, ok := out["pseudonym_commitment"]; ok {
					fmt.Fprintf(w, "pseudonym_commitment %s\n", c)
				}
			})
			if err != nil {
				return err
			}
			if res.PseudonymCommitment == nil {
				e.msg("no pseudonym key: get the network's key from the government's key ceremony and put it at %s", res.Config.PseudonymKeyPath())
			}
			if opts.Genesis == "" {
				e.msg("next: put the network's genesis.json (chain %s) at %s, then run `mykeyd start --home %s`",
					opts.ChainID, res.Config.Comet.GenesisFile(), opts.Home)
			}
			return nil
		},
	}
	homeFlag(cmd, &opts.Home)
	f := cmd.Flags()
	f.StringVar(&opts.ChainID, "chain-id", "", "chain ID of the network this node joins (required)")
	f.StringVar(&opts.Moniker, "moniker", "", "node name shown to peers (default: the host name)")
	f.StringVar(&opts.Genesis, "genesis", "", "the network's genesis.json to install (checked first)")
	f.StringVar(&opts.Peers, "peers", "", "persistent peers, comma-separated ID@host:port")
	f.StringVar(&opts.P2PListen, "p2p-laddr", "", "P2P listen address (default tcp://0.0.0.0:26656)")
	f.StringVar(&opts.RPCListen, "rpc-laddr", "", "full RPC listen address (default tcp://127.0.0.1:26657); it serves blocks and transactions, which carry certificates: keep it on loopback or a network only your tools reach")
	f.StringVar(&opts.MetricsListen, "metrics-laddr", "", "Prometheus listen address (default 127.0.0.1:26660)")
	f.StringVar(&opts.ReadyListen, "ready-laddr", "", "readiness endpoint listen address (default tcp://127.0.0.1:26680)")
	f.StringVar(&opts.PublicListen, "public-laddr", "", "public endpoint listen address, for auditors (default tcp://127.0.0.1:26670)")
	f.Int64Var(&opts.MemoryLimitMiB, "memory-limit-mib", 0, fmt.Sprintf("the node's memory budget in MiB, from which the store's caches are sized (default %d; mykey.memory_limit_mib)", node.DefaultMemoryLimitMiB))
	f.StringVar(&opts.PseudonymKey, "pseudonym-key", "", "the network pseudonym key file to install (from the government's key ceremony)")
	f.BoolVar(&asJSON, "json", false, "print JSON (home, chain_id, node_id, validator_key, pseudonym_commitment)")
	_ = cmd.MarkFlagRequired("chain-id")
	return cmd
}
