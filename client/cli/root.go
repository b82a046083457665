package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/cli/cmdenv"
	"github.com/mykeyledger/mykey/client/rpc"
)

// Env is the world a run of mykey sees. Tests replace parts of it.
type Env = cmdenv.Env

// OSEnv is the environment of the mykey process.
func OSEnv() Env { return cmdenv.OSEnv() }

// Environment variables the commands read (see cmdenv.Run.NodeURL).
const (
	EnvNode    = cmdenv.EnvNode    // default --node
	EnvNetwork = cmdenv.EnvNetwork // default --network
)

// cmdCtx is what every command works with: the run (Env and the root's
// flags) and the node, once dialled.
type cmdCtx struct {
	*cmdenv.Run
	n  rpc.Node
	st *rpc.Status
}

// Main runs mykey with args (without the program name) and returns the
// exit status; errors are printed on stderr.
func Main(ctx context.Context, args []string, env Env) int {
	err := Run(ctx, args, env)
	if err != nil && env.Stderr != nil {
		fmt.Fprintf(env.Stderr, "mykey: %v\n", err)
	}
	return cmdenv.ExitCode(err)
}

// Run runs mykey with args and returns its error, which carries its exit
// status (cmdenv.ExitCode).
func Run(ctx context.Context, args []string, env Env) error {
	root := newRoot(env)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return cmdenv.Errorf(ExitUsage, "%w (see mykey %s --help)", err, strings.TrimPrefix(cmd.CommandPath(), "mykey "))
	})
	_, err := root.ExecuteContextC(ctx)
	if err != nil && isCobraUsage(err) {
		return &cmdenv.ExitError{Code: ExitUsage, Err: err}
	}
	return err
}

// isCobraUsage recognises cobra's own argument and command errors.
func isCobraUsage(err error) bool {
	var e *cmdenv.ExitError
	if errors.As(err, &e) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"unknown command", "accepts ", "requires at least", "required flag", "unknown flag", "invalid argument", "arg(s)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// newRoot returns the mykey command, every command group mounted on it,
// running in env.
func newRoot(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "mykey",
		Short: "MyKey Ledger client: link a My Number Card, record grants, govern, query",
		Long: `mykey is the MyKey Ledger client.

Citizens link their My Number Card to one payment provider per program
(mykey link), providers record the bonus for their customers' charges
(mykey grant, mykey grant import), the government acts with k of n
authority keys (mykey gov), and anyone reads the ledger (mykey query).

The node is --node URL, else $MYKEY_NODE, else the first node of the local
network in --network DIR or $MYKEY_NETWORK (the directory written by
mykeyd testnet; mykey audit reads its public endpoint), else
` + rpc.DefaultURL + `.

Results go to stdout (--json: one JSON document with stable fields),
messages and progress to stderr. Exit status: 0 success; 1 could not
complete (node unreachable, card, file, no commit in time); 2 bad usage or
input (a --network without network.json too); 3 the ledger refused (the
result still printed); 4 not found; 5 and 6 (mykey audit) a node's answer
failed verification, figures do not reconcile.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	c := &cmdCtx{Run: cmdenv.New(env, root.PersistentFlags())}
	root.SetIn(c.Env.Stdin)
	root.SetOut(c.Env.Stdout)
	root.SetErr(c.Env.Stderr)
	root.AddCommand(
		newLinkCmd(c),
		newGrantCmd(c),
		newGovCmd(c),
		newQueryCmd(c),
		newStatusCmd(c),
	)
	root.AddCommand(newCardCmds(c)...)
	root.AddCommand(audit.NewCmd(c.Run))
	return root
}

// node dials the node once.
func (c *cmdCtx) node() (rpc.Node, error) {
	if c.n != nil {
		return c.n, nil
	}
	u, err := c.NodeURL(true)
	if err != nil {
		return nil, err
	}
	n, err := c.Env.Dial(u)
	if err != nil {
		return nil, err
	}
	c.n = n
	return n, nil
}

// status returns the node's status (asked once per run).
func (c *cmdCtx) status(ctx context.Context) (*rpc.Status, error) {
	if c.st != nil {
		return c.st, nil
	}
	n, err := c.node()
	if err != nil {
		return nil, err
	}
	st, err := n.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.Height < 1 {
		return nil, fmt.Errorf("cli: %s has no block yet: wait for the network to start (its validators must be up)", n.URL())
	}
	c.st = st
	return st, nil
}

func (c *cmdCtx) submitOpts() rpc.SubmitOptions {
	return rpc.SubmitOptions{Timeout: c.Flags.Timeout}
}

// output prints a result: v as JSON with --json, else text.
func (c *cmdCtx) output(v any, text func(w io.Writer)) error {
	return c.Output(v, text)
}

// msg writes a message to stderr.
func (c *cmdCtx) msg(format string, args ...any) {
	fmt.Fprintf(c.Env.Stderr, format+"\n", args...)
}
