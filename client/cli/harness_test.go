package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/internal/rpctest"
)

// harness runs mykey commands against an in-process chain.
type harness struct {
	t    *testing.T
	node *rpctest.Node
}

func newHarness(t *testing.T, opts rpctest.Options) *harness {
	t.Helper()
	return &harness{t: t, node: rpctest.New(t, opts)}
}

// result of one run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + r.stdout + "\n--- stderr\n" + r.stderr
}

// run runs mykey with args; stdin is the process's standard input.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := Main(ctx, args, Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Dial: func(string) (rpc.Node, error) { return h.node, nil },
	})
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs a command that must succeed and decodes its --json output.
func (h *harness) ok(stdin string, v any, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("mykey %s: %s", strings.Join(args, " "), r)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			h.t.Fatalf("mykey %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, r)
		}
	}
	return r
}

// fields decodes a JSON object's top-level keys.
func fields(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}

func requireKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: JSON lacks %q: %v", what, k, m)
		}
	}
}

// link links a new card to provider with account token and returns its
// MyKey ID.
func (h *harness) link(card, provider, account string) string {
	h.t.Helper()
	var out LinkJSON
	h.ok(rpctest.PIN+"\n", &out, "link", "--card", "file:"+card, "--pin-stdin", "--program", rpctest.Program,
		"--provider", provider, "--account", account, "--json")
	if out.Code != 0 || out.MyKeyID == "" || out.Height == 0 {
		h.t.Fatalf("link: %+v", out)
	}
	return out.MyKeyID
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
