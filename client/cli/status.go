package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// StatusJSON is the --json output of `mykey status`.
type StatusJSON struct {
	Node       string `json:"node"`
	ChainID    string `json:"chain_id"`
	Height     int64  `json:"height"`
	Time       string `json:"time"`
	CatchingUp bool   `json:"catching_up"`
}

func newStatusCmd(c *cmdCtx) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the node's chain and latest block",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := c.status(cmd.Context())
			if err != nil {
				return err
			}
			out := StatusJSON{Node: c.n.URL(), ChainID: st.ChainID, Height: st.Height,
				Time: st.Time.UTC().Format(time.RFC3339), CatchingUp: st.CatchingUp}
			return c.output(out, func(w io.Writer) {
				fmt.Fprintf(w, "node:    %s\nchain:   %s\nheight:  %d (%s)\n", out.Node, out.ChainID, out.Height, out.Time)
				if out.CatchingUp {
					fmt.Fprintln(w, "syncing: the node is catching up")
				}
			})
		},
	}
}
