package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The nodes' resident memory, read from /proc/<pid>/status (VmRSS) for the
// PIDs that scripts/localnet.sh or scripts/bench-net.sh wrote to
// node*.pid beside the network directory when they started the nodes.

// nodePIDs reads dir/node*.pid: the PID of each node, by node name.
func nodePIDs(dir string) map[string]string {
	files, _ := filepath.Glob(filepath.Join(dir, "node*.pid"))
	out := map[string]string{}
	for _, file := range files {
		bz, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if pid := strings.TrimSpace(string(bz)); pid != "" {
			out[strings.TrimSuffix(filepath.Base(file), ".pid")] = pid
		}
	}
	return out
}

// vmRSSKiB is the VmRSS line of a /proc/<pid>/status text, in KiB.
func vmRSSKiB(status string) (int, bool) {
	for line := range strings.SplitSeq(status, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			return kb, err == nil
		}
	}
	return 0, false
}

// rss reads the resident memory of each node now, in MiB (a node that
// has exited is left out).
func rss(pids map[string]string) map[string]int {
	out := map[string]int{}
	for name, pid := range pids {
		status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
		if err != nil {
			continue
		}
		if kb, ok := vmRSSKiB(string(status)); ok {
			out[name] = kb / 1024
		}
	}
	return out
}

// addPeaks raises peak to the values of now where they are higher.
func addPeaks(peak, now map[string]int) {
	for k, v := range now {
		peak[k] = max(peak[k], v)
	}
}

// sampleRSS samples the nodes' RSS every interval until ctx ends, then
// sends each node's peak, in MiB, on the channel it returns (nil when
// dir names no PID).
func sampleRSS(ctx context.Context, dir string, interval time.Duration) <-chan map[string]int {
	ch := make(chan map[string]int, 1)
	pids := nodePIDs(dir)
	if len(pids) == 0 {
		ch <- nil
		return ch
	}
	go func() {
		peak := map[string]int{}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			addPeaks(peak, rss(pids))
			select {
			case <-ctx.Done():
				ch <- peak
				return
			case <-t.C:
			}
		}
	}()
	return ch
}
