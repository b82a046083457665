package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWindows(t *testing.T) {
	w, err := parseWindows("16, 32,64")
	if err != nil || len(w) != 3 || w[2] != 64 {
		t.Fatalf("%v %v", w, err)
	}
	for _, bad := range []string{"16,x", "0", "32,16"} {
		if _, err := parseWindows(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if w, err := parseWindows(""); err != nil || w != nil {
		t.Fatalf("empty: %v %v", w, err)
	}
}

// A sweep stops when p95 passes the limit or the throughput stops rising,
// and chooses the best step within the limit.
func TestSweepStopsAndChooses(t *testing.T) {
	sp := sweepSpec{windows: []int{16, 32, 64, 128, 256}, p95: 3 * time.Second}
	rates := map[int]float64{16: 300, 32: 550, 64: 700, 128: 760, 256: 800}
	p95s := map[int]float64{16: 900, 32: 1400, 64: 2200, 128: 3400, 256: 5000}
	var ran []int
	p, err := sweep("links", sp, 0, func(w int) (*phase, error) {
		ran = append(ran, w)
		return &phase{Name: "links", ItemsPerS: rates[w], P95ms: p95s[w], Drained: true, WindowTxs: w}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 4 || p.ChosenWindowTxs != 64 || p.ItemsPerS != 700 || p.SweepNote != "" {
		t.Fatalf("ran %v, chose %d (%.0f/s, %q)", ran, p.ChosenWindowTxs, p.ItemsPerS, p.SweepNote)
	}
	if len(p.Sweep) != 4 || !strings.HasPrefix(p.Sweep[3].Stop, "p95 3400 ms over 3s") {
		t.Fatalf("steps %+v", p.Sweep[len(p.Sweep)-1])
	}

	// Throughput flat: stop at the first step that does not rise by 2 %.
	rates = map[int]float64{16: 500, 32: 700, 64: 705, 128: 900}
	p95s = map[int]float64{16: 500, 32: 900, 64: 1800, 128: 2000}
	ran = nil
	p, _ = sweep("kvstore", sp, 0, func(w int) (*phase, error) {
		ran = append(ran, w)
		return &phase{ItemsPerS: rates[w], P95ms: p95s[w], Drained: true}, nil
	})
	if len(ran) != 3 || p.ChosenWindowTxs != 64 || !strings.HasPrefix(p.Sweep[2].Stop, "throughput stopped rising") {
		t.Fatalf("ran %v, chose %d, stop %q", ran, p.ChosenWindowTxs, p.Sweep[len(p.Sweep)-1].Stop)
	}

	// No step within the limit: the lowest p95, said so.
	p, _ = sweep("grants", sweepSpec{windows: []int{2, 4}, p95: time.Second}, 0, func(w int) (*phase, error) {
		return &phase{ItemsPerS: float64(w), P95ms: 5000 - float64(w), Drained: true}, nil
	})
	if p.ChosenWindowTxs != 2 || p.SweepNote == "" || len(p.Sweep) != 1 {
		t.Fatalf("chose %d, note %q, %d steps", p.ChosenWindowTxs, p.SweepNote, len(p.Sweep))
	}

	// The time bound: no step starts after it.
	ran = nil
	_, _ = sweep("links", sweepSpec{windows: []int{1, 2, 3}, p95: time.Hour, budget: time.Nanosecond}, 0, func(w int) (*phase, error) {
		ran = append(ran, w)
		return &phase{ItemsPerS: float64(w), Drained: true}, nil
	})
	if len(ran) != 1 {
		t.Fatalf("ran %v past the time bound", ran)
	}

	// No sweep: one run at the fallback window.
	p, _ = sweep("links", sweepSpec{}, 77, func(w int) (*phase, error) { return &phase{WindowTxs: w}, nil })
	if p.WindowTxs != 77 || p.Sweep != nil {
		t.Fatalf("without a sweep: %+v", p)
	}
}
