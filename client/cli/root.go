package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/rpc"
)

// Env is the world a run of mykey sees. Tests replace parts of it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Dial opens the node at a URL (nil: rpc.Dial).
	Dial func(url string) (rpc.Node, error)
	// Now is the wall clock (nil: time.Now).
	Now func() time.Time
	// StderrTTY says whether stderr is a terminal (a progress bar is drawn
	// there, else one line per batch).
	StderrTTY bool
}

// OSEnv is the environment of the mykey process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		StderrTTY: isTerminal(os.Stderr)}
}

// globals are the flags every command takes.
type globals struct {
	node    string
	network string
	json    bool
	timeout time.Duration
}

// cmdCtx is what every command works with.
type cmdCtx struct {
	env Env
	g   globals
	n   rpc.Node
	st  *rpc.Status
}

// Main runs mykey with args (without the program name) and returns the
// exit status; errors are printed on stderr.
func Main(ctx context.Context, args []string, env Env) int {
	err := Run(ctx, args, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mykey: %v\n", err)
	}
	return exitCode(err)
}

// Run runs mykey with args and returns its error (see exitCode).
func Run(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Dial == nil {
		env.Dial = rpc.Dial
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	c := &cmdCtx{env: env}
	root := newRoot(c)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%w (see mykey %s --help)", err, strings.TrimPrefix(cmd.CommandPath(), "mykey "))}
	})
	_, err := root.ExecuteContextC(ctx)
	if err != nil && isCobraUsage(err) {
		return &exitError{code: ExitUsage, err: err}
	}
	return err
}

// isCobraUsage recognises cobra's own argument and command errors.
func isCobraUsage(err error) bool {
	var e interface{ ExitCode() int }
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

func newRoot(c *cmdCtx) *cobra.Command {
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
mykeyd testnet), else ` + rpc.DefaultURL + `.

Results go to stdout (--json: one JSON document with stable fields),
messages and progress to stderr. Exit status: 0 success; 1 could not
complete (node unreachable, card, file, no commit in time); 2 bad usage or
input; 3 the ledger refused (the result still printed); 4 not found;
5 and 6 (mykey audit) a node's answer failed verification, figures do not
reconcile.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.g.node, "node", "", "node RPC URL (default $"+EnvNode+", the --network's first node, or "+rpc.DefaultURL+")")
	pf.StringVar(&c.g.network, "network", "", "local network directory written by mykeyd testnet (default $"+EnvNetwork+")")
	pf.BoolVar(&c.g.json, "json", false, "print the result as JSON on stdout")
	pf.DurationVar(&c.g.timeout, "timeout", 60*time.Second, "how long to wait for a transaction to be committed")
	root.AddCommand(
		newLinkCmd(c),
		newGrantCmd(c),
		newGovCmd(c),
		newQueryCmd(c),
		newStatusCmd(c),
	)
	root.AddCommand(newCardCmds(c)...)
	root.AddCommand(audit.NewCmd())
	return root
}

// node dials the node once.
func (c *cmdCtx) node() (rpc.Node, error) {
	if c.n != nil {
		return c.n, nil
	}
	u, err := c.nodeURL()
	if err != nil {
		return nil, err
	}
	n, err := c.env.Dial(u)
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
	return rpc.SubmitOptions{Timeout: c.g.timeout}
}

// output prints a result: v as JSON with --json, else text.
func (c *cmdCtx) output(v any, text func(w io.Writer)) error {
	if c.g.json {
		enc := json.NewEncoder(c.env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(c.env.Stdout)
	return nil
}

// msg writes a message to stderr.
func (c *cmdCtx) msg(format string, args ...any) {
	fmt.Fprintf(c.env.Stderr, format+"\n", args...)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
