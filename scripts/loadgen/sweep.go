package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// An in-flight window sweep. In a closed loop the throughput is the window
// divided by the latency, so one window says little: too small, and the
// network idles between blocks; too large, and transactions queue. A sweep
// runs a phase once per window, in increasing order, each step for
// --duration (with its own pre-signed pool), and stops when the p95
// latency exceeds --sweep-p95, when the throughput stops rising (less than
// sweepRise above the best step so far), when a step's pool ran out, or
// when the sweep has run --sweep-budget. The phase's figures are those of
// the step with the highest throughput among the steps whose p95 is within
// the limit and which drained; every step is kept in the phase's Sweep.

// sweepRise is the rise in throughput over the best step so far below
// which a sweep stops: run-to-run noise on a shared machine is about that.
const sweepRise = 1.02

// sweepStep is one step of a sweep.
type sweepStep struct {
	WindowTxs   int     `json:"window_txs"`
	ItemsPerS   float64 `json:"committed_items_per_s"`
	TxPerS      float64 `json:"committed_tx_per_s"`
	P50ms       float64 `json:"latency_p50_ms"`
	P95ms       float64 `json:"latency_p95_ms"`
	Drained     bool    `json:"drained"`
	Exhausted   bool    `json:"exhausted"`
	Refused     int     `json:"refused_by_checktx"`
	RPCErrors   int     `json:"rpc_errors"`
	FullRetries int     `json:"mempool_full_retries"`
	WallSeconds float64 `json:"wall_seconds"` // signing, load, drain and reading the blocks
	// Stop says why the sweep stopped after this step ("" if it went on).
	Stop string `json:"stop,omitempty"`
}

// sweepSpec is a sweep's windows (transactions accepted and not yet
// committed) and bounds.
type sweepSpec struct {
	windows []int
	p95     time.Duration
	budget  time.Duration
}

// parseWindows reads a comma-separated list of windows ("" is none).
func parseWindows(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		w, err := strconv.Atoi(f)
		if err != nil || w < 1 {
			return nil, fmt.Errorf("window %q: want a positive number of transactions", f)
		}
		if len(out) > 0 && w <= out[len(out)-1] {
			return nil, fmt.Errorf("windows %q: want them increasing", s)
		}
		out = append(out, w)
	}
	return out, nil
}

// eligible says whether a step's figures can stand for the phase.
func (st *sweepStep) eligible(limit time.Duration) bool {
	return st.Drained && st.ItemsPerS > 0 && st.P95ms <= ms(limit)
}

// stopAfter says why the sweep stops after its last step ("" if it goes
// on), given how long it has run.
func stopAfter(steps []*sweepStep, sp sweepSpec, elapsed time.Duration) string {
	last := steps[len(steps)-1]
	best := 0.0
	for _, st := range steps[:len(steps)-1] {
		if st.eligible(sp.p95) {
			best = max(best, st.ItemsPerS)
		}
	}
	switch {
	case last.P95ms > ms(sp.p95):
		return fmt.Sprintf("p95 %.0f ms over %s", last.P95ms, sp.p95)
	case !last.Drained:
		return "not drained"
	case last.Exhausted:
		return "pre-signed pool ran out (raise the rate ceiling)"
	case best > 0 && last.ItemsPerS < best*sweepRise:
		return fmt.Sprintf("throughput stopped rising (%.1f/s, best before %.1f/s)", last.ItemsPerS, best)
	case len(steps) == len(sp.windows):
		return "last window"
	case sp.budget > 0 && elapsed >= sp.budget:
		return fmt.Sprintf("time bound %s reached", sp.budget)
	}
	return ""
}

// chooseStep returns the index of the step that stands for the phase: the
// highest throughput within the p95 limit; if none is within it, the
// lowest p95, with a note saying so.
func chooseStep(steps []*sweepStep, limit time.Duration) (int, string) {
	best := -1
	for i, st := range steps {
		if st.eligible(limit) && (best < 0 || st.ItemsPerS > steps[best].ItemsPerS) {
			best = i
		}
	}
	if best >= 0 {
		return best, ""
	}
	low := 0
	for i, st := range steps {
		if st.P95ms < steps[low].P95ms {
			low = i
		}
	}
	return low, fmt.Sprintf("no step drained within p95 %s: the lowest p95 is given", limit)
}

// sweep runs step once per window of sp (or once with the window
// fallback if sp has none) and returns the phase of the chosen step, with
// the sweep in it.
func sweep(name string, sp sweepSpec, fallback int, step func(windowTxs int) (*phase, error)) (*phase, error) {
	if len(sp.windows) == 0 {
		return step(fallback)
	}
	start := time.Now()
	var (
		steps  []*sweepStep
		phases []*phase
	)
	for _, w := range sp.windows {
		t := time.Now()
		msg("%s: sweep step with a window of %d transactions", name, w)
		p, err := step(w)
		if err != nil {
			return nil, err
		}
		st := &sweepStep{WindowTxs: w, ItemsPerS: p.ItemsPerS, TxPerS: p.TxPerS, P50ms: p.P50ms, P95ms: p.P95ms,
			Drained: p.Drained, Exhausted: p.Exhausted, Refused: p.Refused, RPCErrors: p.RPCErrors,
			FullRetries: p.MempoolFullRetries, WallSeconds: time.Since(t).Seconds()}
		steps, phases = append(steps, st), append(phases, p)
		if st.Stop = stopAfter(steps, sp, time.Since(start)); st.Stop != "" {
			break
		}
	}
	i, note := chooseStep(steps, sp.p95)
	p := phases[i]
	p.Sweep, p.ChosenWindowTxs, p.SweepNote = steps, steps[i].WindowTxs, note
	// The peak memory is over the whole sweep.
	for _, q := range phases {
		if q.RSSPeakMiB != nil {
			if p.RSSPeakMiB == nil {
				p.RSSPeakMiB = map[string]int{}
			}
			addPeaks(p.RSSPeakMiB, q.RSSPeakMiB)
		}
	}
	msg("%s: sweep chose a window of %d transactions: %.1f items/s, p95 %.0f ms%s", name, p.ChosenWindowTxs, p.ItemsPerS, p.P95ms, map[bool]string{true: " (" + note + ")", false: ""}[note != ""])
	return p, nil
}
