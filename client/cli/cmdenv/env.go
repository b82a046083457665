package cmdenv

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/client/rpc"
)

// Env is the world a run of mykey sees. Tests replace parts of it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads an environment variable (nil: every variable is unset).
	Getenv func(string) string
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

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// withDefaults fills what a test left out: an empty environment and
// input, discarded output, rpc.Dial and the wall clock.
func (e Env) withDefaults() Env {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.Dial == nil {
		e.Dial = rpc.Dial
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Stdin == nil {
		e.Stdin = strings.NewReader("")
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	return e
}

// Flags are the flags every command takes, defined once on the root.
type Flags struct {
	Node    string
	Network string
	JSON    bool
	Timeout time.Duration
}

// register defines the flags on fs (the root's persistent flags).
func (f *Flags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Node, "node", "", "node URL (default $"+EnvNode+", else the --network's first node: its full RPC, "+
		"or for mykey audit its public endpoint (full RPC with --charges); else "+rpc.DefaultURL+")")
	fs.StringVar(&f.Network, "network", "", "local network directory written by mykeyd testnet (default $"+EnvNetwork+")")
	fs.BoolVar(&f.JSON, "json", false, "print the result as JSON on stdout")
	fs.DurationVar(&f.Timeout, "timeout", 60*time.Second, "how long to wait for a transaction to be committed")
}

// Run is one run of mykey: the world it sees and the root's flags, parsed
// before any command runs.
type Run struct {
	Env   Env
	Flags Flags
}

// New returns a run in env (its missing parts filled with defaults) whose
// Flags are defined on root, the persistent flag set of the root command.
func New(env Env, root *pflag.FlagSet) *Run {
	r := &Run{Env: env.withDefaults()}
	r.Flags.register(root)
	return r
}

// Output prints a command's result on stdout: v as one indented JSON
// document with --json, else the text that text writes.
func (r *Run) Output(v any, text func(w io.Writer)) error {
	if r.Flags.JSON {
		enc := json.NewEncoder(r.Env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(r.Env.Stdout)
	return nil
}
