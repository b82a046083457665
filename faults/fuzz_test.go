package faults

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFuzzCheckTx runs app's FuzzCheckTx (decoding and CheckTx on
// arbitrary bytes: no panic, no Go error, only registered codes) for a
// bounded time, $MYKEY_FUZZTIME or 30s, with one worker so that it shares
// the machine with the rest of the tests. A failing input is written to
// app/testdata/fuzz/FuzzCheckTx, where `go test ./app/` replays it.
//
// Inputs are not minimized (-fuzzminimizetime 0x): with the whole
// dependency graph instrumented, each run of the target snapshots a large
// coverage map, and go's default of a minute of minimizing per new input
// would spend the whole budget on the first one (about ten executions in
// 30 s, against some thousand a second without). A failing input is still
// written, unminimized.
func TestFuzzCheckTx(t *testing.T) { fuzzApp(t, "FuzzCheckTx") }

// TestFuzzGenesisInitChain runs app's FuzzGenesisInitChain the same way:
// whatever genesis validation accepts, InitChain accepts.
func TestFuzzGenesisInitChain(t *testing.T) { fuzzApp(t, "FuzzGenesisInitChain") }

func fuzzApp(t *testing.T, target string) {
	if testing.Short() {
		t.Skip("faults: fuzzing skipped with -short")
	}
	d := 30 * time.Second
	if v := os.Getenv(envFuzzTime); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 {
			t.Fatalf("faults: %s=%q: want a duration such as 30s", envFuzzTime, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+8*time.Minute) // building included
	defer cancel()
	start := time.Now()
	out, err := runCtx(ctx, nil, "go", "test", "-C", repoRoot(t), "-run", "^$", "-fuzz", "^"+target+"$",
		"-fuzztime", d.String(), "-fuzzminimizetime", "0x", "-parallel", "1", "./app/")
	if err != nil {
		t.Fatalf("faults: fuzzing %s: %v", target, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	t.Logf("%s for %s (%s with the build): %s", target, d, time.Since(start).Round(time.Second), lines[len(lines)-1])
	for _, l := range lines[max(0, len(lines)-4):] {
		t.Logf("  %s", l)
	}
}
