package node

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
)

// failingApp's FinalizeBlock fails.
type failingApp struct{ abci.Application }

func (failingApp) FinalizeBlock(context.Context, *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	return nil, errors.New("store failed")
}

// TestCrashHook checks that the wrapper exits with CrashExitCode after the
// FinalizeBlock of its height only, once that FinalizeBlock has returned,
// logs the line node/e2e looks for, and forwards Commit unchanged.
func TestCrashHook(t *testing.T) {
	inner := &fakeApp{}
	var logs bytes.Buffer
	var exits []int
	var exitHeights []int64
	var current int64
	a := withCrashHook(inner, 3, log.NewTMLogger(&logs), func(code int) {
		exits = append(exits, code)
		exitHeights = append(exitHeights, current)
	})
	for h := int64(1); h <= 5; h++ {
		current = h
		res, err := a.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: h})
		if err != nil || res == nil {
			t.Fatalf("height %d: FinalizeBlock: %v %v", h, res, err)
		}
		if _, err := a.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(exits) != 1 || exits[0] != CrashExitCode || exitHeights[0] != 3 {
		t.Fatalf("exit calls %v at heights %v, want [%d] at [3]", exits, exitHeights, CrashExitCode)
	}
	if inner.commits != 5 {
		t.Fatalf("%d commits forwarded, want 5", inner.commits)
	}
	if want := "crash hook: exiting after FinalizeBlock of height 3"; !strings.Contains(logs.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, logs.String())
	}

	// A FinalizeBlock that fails does not reach the crash: CometBFT
	// stops the node on the error itself.
	exits = nil
	f := withCrashHook(failingApp{}, 3, log.NewNopLogger(), func(code int) { exits = append(exits, code) })
	if _, err := f.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: 3}); err == nil {
		t.Fatal("error not forwarded")
	}
	if len(exits) != 0 {
		t.Fatalf("exited after a failed FinalizeBlock: %v", exits)
	}
}

func TestCrashHookFromEnv(t *testing.T) {
	for _, c := range []struct {
		v    string
		want int64
		err  bool
	}{{"", 0, false}, {"12", 12, false}, {"0", 0, true}, {"-3", 0, true}, {"twelve", 0, true}} {
		t.Setenv(CrashAfterFinalizeEnv, c.v)
		h, err := crashHookFromEnv()
		if h != c.want || (err != nil) != c.err {
			t.Errorf("%s=%q: %d, %v; want %d, error %v", CrashAfterFinalizeEnv, c.v, h, err, c.want, c.err)
		}
	}
}
