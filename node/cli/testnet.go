package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/node"
)

func testnetCmd(e *env) *cobra.Command {
	var (
		opts   node.TestnetOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "testnet --validators N --output DIR",
		Short: "Write a ready test network on 127.0.0.1",
		Long: fmt.Sprintf(`testnet writes a network of N validators on 127.0.0.1 under DIR:
node0 is the government's, node1..N-1 belong to providers (%s, ...).
Node i listens on base+%d*i (P2P), +1 (RPC), +2 (Prometheus), +3 (readiness),
+4 (public endpoint, for auditors).
It also writes the government's authority keys (keys/government-*.json), a
grant key per provider (keys/provider-*.json), a test JPKI CA (testca/) that
genesis trusts, test cards (cards/card-*.json, PIN %s), and one genesis with
the program %q (percent_of_charge, %d bp, cap ¥%d, open for a year). The
layout is saved in DIR/%s and printed with --json. Start each node with
mykeyd start --home DIR/nodeI (scripts/localnet.sh does all of it).`,
			"paypay", node.PortsPerNode, node.TestCardPIN, node.DefaultProgram, node.DefaultRateBP, node.DefaultCapYen, netlayout.File),
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			lay, err := node.Testnet(opts)
			if err != nil {
				return err
			}
			return e.print(asJSON, lay, func(w io.Writer) {
				fmt.Fprintf(w, "chain %s, genesis %s\n", lay.ChainID, lay.Genesis)
				for _, n := range lay.Nodes {
					fmt.Fprintf(w, "%-11s %-10s rpc %s  public %s  home %s\n", n.Name, n.Role, n.RPC, n.Public, n.Home)
				}
				e.msg("start a node with: mykeyd start --home %s", lay.Nodes[0].Home)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Validators, "validators", 4, "number of validators (node 0 is the government's)")
	f.StringVar(&opts.Output, "output", "", "directory to create (required; must be empty)")
	f.StringVar(&opts.ChainID, "chain-id", node.DefaultTestnetChainID, "chain ID")
	f.IntVar(&opts.BasePort, "base-port", node.DefaultBasePort, "first port; node i uses base+10i .. base+10i+3")
	f.IntVar(&opts.Cards, "cards", 4, "number of test card files to write")
	f.IntVar(&opts.GovernmentKeys, "government-keys", 1, "number of government authority keys")
	f.IntVar(&opts.GovernmentThreshold, "government-threshold", 1, "signatures a government action needs")
	f.DurationVar(&opts.TimeoutPropose, "timeout-propose", 0, "consensus timeout_propose (default CometBFT's 3s)")
	f.DurationVar(&opts.TimeoutCommit, "timeout-commit", 500*time.Millisecond, "consensus timeout_commit: the pause between blocks")
	f.Uint64Var(&opts.SnapshotInterval, "snapshot-interval", 0, "blocks between app snapshots (default 100)")
	f.Uint32Var(&opts.SnapshotKeep, "snapshot-keep", 0, "snapshots each node keeps (default 2)")
	f.Int64Var(&opts.MemoryLimitMiB, "memory-limit-mib", node.TestnetMemoryLimitMiB, "each node's memory budget in MiB (mykey.memory_limit_mib; the nodes share this machine)")
	f.BoolVar(&asJSON, "json", false, "print the layout as JSON")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
