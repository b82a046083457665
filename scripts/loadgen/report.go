package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// report prints the table of a --json result file, with the kvstore
// baseline's if given.
func report(file, baselineFile string) error {
	res, err := loadResult(file)
	if err != nil {
		return err
	}
	var base *result
	if baselineFile != "" {
		if base, err = loadResult(baselineFile); err != nil {
			return err
		}
	}
	printTable(os.Stdout, res, base)
	return nil
}

func loadResult(file string) (*result, error) {
	bz, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r result
	if err := json.Unmarshal(bz, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &r, nil
}

// printTable prints one line a phase, then the baseline's and the ratios.
func printTable(w io.Writer, res, base *result) {
	fmt.Fprintf(w, "%-16s %11s %9s %8s %8s %8s %9s %8s %6s %7s %s\n",
		"phase", "items/s", "tx/s", "p50 ms", "p95 ms", "p99 ms", "items", "txs", "bytes", "load s", "notes")
	line := func(app string, p *phase) {
		name := p.Name
		if app == "kvstore" {
			name = "kvstore baseline"
		}
		note := ""
		if p.Exhausted {
			note += " pool-exhausted"
		}
		if !p.Drained {
			note += " not-drained"
		}
		if p.Refused > 0 {
			note += fmt.Sprintf(" refused=%d", p.Refused)
		}
		if p.CommittedOK < p.CommittedTx {
			note += fmt.Sprintf(" failed=%d", p.CommittedTx-p.CommittedOK)
		}
		fmt.Fprintf(w, "%-16s %11.1f %9.1f %8.0f %8.0f %8.0f %9d %8d %6d %7.1f%s\n",
			name, p.ItemsPerS, p.TxPerS, p.P50ms, p.P95ms, p.P99ms, p.Items, p.CommittedTx, p.TxBytes, p.LoadSeconds, note)
	}
	for _, p := range res.Phases {
		line(res.App, p)
	}
	if base == nil {
		return
	}
	var kv *phase
	for _, p := range base.Phases {
		line(base.App, p)
		kv = p
	}
	if kv == nil || kv.TxPerS == 0 {
		return
	}
	for _, p := range res.Phases {
		if p.Name == "links" || p.Name == "links-batched" {
			fmt.Fprintf(w, "ratio %s links/s ÷ kvstore tx/s: %.2f (%.1f / %.1f)\n", p.Name, p.ItemsPerS/kv.TxPerS, p.ItemsPerS, kv.TxPerS)
		}
	}
}
