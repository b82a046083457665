// Package cli holds the mykeyd commands, one file per command. Results go
// to stdout (JSON with --json), messages to stderr.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// env is what every command writes to.
type env struct {
	stdout, stderr io.Writer
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// print writes a result: v as JSON with asJSON, else text.
func (e *env) print(asJSON bool, v any, text func(w io.Writer)) error {
	if asJSON {
		return e.printJSON(v)
	}
	text(e.stdout)
	return nil
}

func (e *env) msg(format string, args ...any) {
	fmt.Fprintf(e.stderr, format+"\n", args...)
}

// defaultHome is $MYKEYD_HOME, or ~/.mykeyd.
func defaultHome() string {
	if h := os.Getenv("MYKEYD_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".mykeyd")
	}
	return ".mykeyd"
}

// Run runs mykeyd with args (without the program name). ctx is cancelled
// on SIGINT or SIGTERM; `mykeyd start` then stops the node cleanly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "mykeyd",
		Short:         "MyKey Ledger validator node",
		Long:          "mykeyd runs a MyKey Ledger node (CometBFT with the ledger in-process) and sets up nodes and test networks.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		initCmd(e),
		startCmd(e),
		testnetCmd(e),
		statesyncCmd(e),
		genesisCmd(e),
		keygenCmd(e),
		showNodeIDCmd(e),
		showValidatorCmd(e),
		versionCmd(e),
	)
	return root.ExecuteContext(ctx)
}

func homeFlag(cmd *cobra.Command, home *string) {
	cmd.Flags().StringVar(home, "home", defaultHome(), "node home directory (config/ and data/); default $MYKEYD_HOME or ~/.mykeyd")
}
