package cmdenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/client/rpc"
)

// fakeEnv is an environment of the given variables only.
func fakeEnv(vars map[string]string) Env {
	return Env{Getenv: func(k string) string { return vars[k] }}
}

// newRun parses args as the root's flags in env.
func newRun(t *testing.T, env Env, args ...string) *Run {
	t.Helper()
	fs := pflag.NewFlagSet("mykey", pflag.ContinueOnError)
	r := New(env, fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return r
}

func writeLayout(t *testing.T, layout string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "network.json"), []byte(layout), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestNodeURL(t *testing.T) {
	net := writeLayout(t, `{"chain_id":"x","genesis":"/g.json","nodes":[{"name":"government","rpc":"http://127.0.0.1:1","public":"http://127.0.0.1:2"}]}`)
	old := writeLayout(t, `{"chain_id":"x","nodes":[{"name":"government","rpc":"http://127.0.0.1:1"}]}`)
	empty := writeLayout(t, `{"chain_id":"x","nodes":[]}`)
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		full bool
		want string
		code int // the error's exit status, 0 for none
	}{
		{name: "default", want: rpc.DefaultURL},
		{name: "flag", args: []string{"--node", "http://n:1"}, vars: map[string]string{EnvNode: "http://e:1", EnvNetwork: net}, want: "http://n:1"},
		{name: "env over network", vars: map[string]string{EnvNode: "http://e:1", EnvNetwork: net}, want: "http://e:1"},
		{name: "network public", vars: map[string]string{EnvNetwork: net}, want: "http://127.0.0.1:2"},
		{name: "network full", vars: map[string]string{EnvNetwork: net}, full: true, want: "http://127.0.0.1:1"},
		{name: "flag network over env", args: []string{"--network", net}, vars: map[string]string{EnvNetwork: empty}, want: "http://127.0.0.1:2"},
		{name: "layout without public endpoints", args: []string{"--network", old}, want: "http://127.0.0.1:1"},
		{name: "no node", args: []string{"--network", empty}, code: ExitUsage},
		{name: "no layout", args: []string{"--network", t.TempDir()}, code: ExitUsage},
		{name: "no layout from env", vars: map[string]string{EnvNetwork: t.TempDir()}, code: ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t, fakeEnv(tc.vars), tc.args...)
			got, err := r.NodeURL(tc.full)
			if tc.code != 0 {
				if ExitCode(err) != tc.code {
					t.Fatalf("NodeURL = %q, %v (exit %d), want exit %d", got, err, ExitCode(err), tc.code)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NodeURL = %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	net := writeLayout(t, `{"chain_id":"x","genesis":"/g.json","nodes":[]}`)
	if l, err := newRun(t, fakeEnv(nil)).Network(); l != nil || err != nil {
		t.Fatalf("no network: %v, %v", l, err)
	}
	if l, err := newRun(t, fakeEnv(map[string]string{EnvNetwork: net})).Network(); err != nil || l.Genesis != "/g.json" {
		t.Fatalf("$%s: %+v, %v", EnvNetwork, l, err)
	}
	_, err := newRun(t, fakeEnv(map[string]string{EnvNetwork: t.TempDir()})).Network()
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "$"+EnvNetwork) {
		t.Fatalf("$%s without network.json: %v", EnvNetwork, err)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("x"), ExitFailure},
		{Errorf(ExitUntrusted, "x"), ExitUntrusted},
		{fmt.Errorf("wrapped: %w", Errorf(ExitMismatch, "x")), ExitMismatch},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestOutput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "text\n"},
		{[]string{"--json"}, "{\n  \"a\": 1\n}\n"},
	} {
		var out bytes.Buffer
		r := newRun(t, Env{Stdout: &out}, tc.args...)
		if err := r.Output(map[string]int{"a": 1}, func(w io.Writer) { fmt.Fprintln(w, "text") }); err != nil || out.String() != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.args, out.String(), err, tc.want)
		}
	}
}
