package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
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

// printTable prints one line a phase, then the baseline's and the ratios,
// the sweeps and the nodes' peak memory.
func printTable(w io.Writer, res, base *result) {
	fmt.Fprintf(w, "%-16s %11s %9s %8s %8s %8s %9s %8s %6s %7s %7s %8s %8s %7s %s\n",
		"phase", "items/s", "tx/s", "p50 ms", "p95 ms", "p99 ms", "items", "txs", "bytes", "load s", "window",
		"refused", "full-rt", "rpc-err", "notes")
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
		if p.MempoolFullAbandoned > 0 {
			note += fmt.Sprintf(" full-abandoned=%d", p.MempoolFullAbandoned)
		}
		if p.CommittedOK < p.CommittedTx {
			note += fmt.Sprintf(" failed=%d", p.CommittedTx-p.CommittedOK)
		}
		if p.SweepNote != "" {
			note += " " + p.SweepNote
		}
		window := "-"
		if p.WindowTxs > 0 {
			window = fmt.Sprint(p.WindowTxs)
		}
		if len(p.Sweep) > 0 {
			window += "*"
		}
		fmt.Fprintf(w, "%-16s %11.1f %9.1f %8.0f %8.0f %8.0f %9d %8d %6d %7.1f %7s %8d %8d %7d%s\n",
			name, p.ItemsPerS, p.TxPerS, p.P50ms, p.P95ms, p.P99ms, p.Items, p.CommittedTx, p.TxBytes, p.LoadSeconds, window,
			p.Refused, p.MempoolFullRetries, p.RPCErrors, note)
	}
	for _, p := range res.Phases {
		line(res.App, p)
	}
	var kv *phase
	if base != nil {
		for _, p := range base.Phases {
			line(base.App, p)
			kv = p
		}
	}
	fmt.Fprintln(w, "(window: transactions accepted and not yet committed; * chosen by a sweep, below. refused: by CheckTx; full-rt: calls retried on a full mempool; rpc-err: failed calls)")
	if kv != nil && kv.TxPerS > 0 {
		for _, p := range res.Phases {
			if p.Name == "links" || p.Name == "links-batched" {
				fmt.Fprintf(w, "ratio %s links/s ÷ kvstore tx/s: %.2f (%.1f / %.1f)\n", p.Name, p.ItemsPerS/kv.TxPerS, p.ItemsPerS, kv.TxPerS)
			}
		}
	}
	all := append([]*phase(nil), res.Phases...)
	if base != nil {
		all = append(all, base.Phases...)
	}
	for _, p := range all {
		printSweep(w, p)
	}
	for _, r := range []*result{res, base} {
		if r != nil && len(r.RSSPeakMiB) > 0 {
			fmt.Fprintf(w, "peak RSS per node, %s (MiB, sampled every 0.5 s in every phase): %s\n", r.App, rssText(r.RSSPeakMiB))
			for _, p := range r.Phases {
				if len(p.RSSPeakMiB) > 0 {
					fmt.Fprintf(w, "  %-16s %s\n", p.Name, rssText(p.RSSPeakMiB))
				}
			}
		}
	}
}

// printSweep prints the steps of a phase's sweep.
func printSweep(w io.Writer, p *phase) {
	if len(p.Sweep) == 0 {
		return
	}
	fmt.Fprintf(w, "sweep %s: chose window %d txs\n", p.Name, p.ChosenWindowTxs)
	for _, st := range p.Sweep {
		mark := " "
		if st.WindowTxs == p.ChosenWindowTxs {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s window %5d: %9.1f items/s %8.1f tx/s  p50 %6.0f ms  p95 %6.0f ms  refused %d  full-rt %d  rpc-err %d  %4.0f s%s\n",
			mark, st.WindowTxs, st.ItemsPerS, st.TxPerS, st.P50ms, st.P95ms, st.Refused, st.FullRetries, st.RPCErrors, st.WallSeconds,
			map[bool]string{true: "  stop: " + st.Stop, false: ""}[st.Stop != ""])
	}
}

// rssText is "node0 812, node1 790, ..." in node order.
func rssText(m map[string]int) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}
