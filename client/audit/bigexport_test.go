package audit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/syncbuf"
	"github.com/mykeyledger/mykey/internal/testca"
)

// bigGrants is the size of the large export (MYKEY_AUDIT_BIG overrides it).
const bigGrants = 100_000

// memReport is what the child export process measured of itself.
type memReport struct {
	PeakHeapInuse uint64  `json:"peak_heap_inuse"`
	PeakHeapSys   uint64  `json:"peak_heap_sys"`
	PeakSys       uint64  `json:"peak_sys"`
	VmHWMKiB      int64   `json:"vm_hwm_kib"`
	Seconds       float64 `json:"seconds"`
	Err           string  `json:"err,omitempty"`
	Stderr        string  `json:"stderr"`
}

// TestExport100k records 100k grants on a fresh network, then exports
// them (export --charges, through the node's full RPC) in a child process
// that measures its own memory: the export must be complete (every grant,
// the sum the state root commits to) and its memory bounded by a few
// pages, not by the number of grants.
func TestExport100k(t *testing.T) {
	if testing.Short() {
		t.Skip("records 100k grants on a network; skipped with -short")
	}
	total := bigGrants
	if s := os.Getenv("MYKEY_AUDIT_BIG"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	start := time.Now()
	n, err := startNet(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	wantYen, err := loadGrants(n, total)
	if err != nil {
		t.Fatalf("loading %d grants: %v (node log %s/node0.log)", total, err, dir)
	}
	t.Logf("recorded %d grants (¥%d) in %s", total, wantYen, time.Since(start).Round(time.Second))

	out := dir + "/grants.csv"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestExportChild$", "-test.v")
	child.Env = append(os.Environ(), childEnv+"=1", "MYKEY_AUDIT_CHILD_ARGS="+strings.Join([]string{
		"export", "--charges", "--node", n.rpcURL, "--genesis", n.genesis, "--output", out}, "\x1f"))
	stdout, err := child.Output()
	if err != nil {
		t.Fatalf("child export: %v\n%s", err, stdout)
	}
	var m memReport
	for _, line := range strings.Split(string(stdout), "\n") {
		if rest, ok := strings.CutPrefix(line, "MEMREPORT "); ok {
			if err := json.Unmarshal([]byte(rest), &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m.Err != "" || m.Seconds == 0 {
		t.Fatalf("child export failed: %s\n%s", m.Err, stdout)
	}
	t.Logf("export of %d grants: %.1f s; peak heap in use %.1f MiB, heap from the OS %.1f MiB, Go runtime total %.1f MiB, VmHWM %.1f MiB",
		total, m.Seconds, mib(m.PeakHeapInuse), mib(m.PeakHeapSys), mib(m.PeakSys), float64(m.VmHWMKiB)/1024)
	t.Logf("export stderr:\n%s", m.Stderr)

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var rows, yen int64
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		y, err := strconv.ParseInt(fields[5], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		rows++
		yen += y
	}
	if rows != int64(total) || yen != wantYen {
		t.Errorf("the export has %d rows, %d yen; want %d, %d", rows, yen, total, wantYen)
	}
	if !strings.Contains(m.Stderr, "its sum matches the total the state root commits to") {
		t.Errorf("the export does not say it is complete")
	}
	// Bounded: the heap stays far below the size of the data (the CSV
	// alone is st.Size() bytes; the records with their proofs are several
	// times that).
	const heapBound = 64 << 20
	if m.PeakHeapInuse > heapBound {
		t.Errorf("peak heap in use %.1f MiB for a %.1f MiB export; want under %.0f MiB", mib(m.PeakHeapInuse), mib(uint64(st.Size())), mib(heapBound))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// TestExportChild is the child process of TestExport100k: it runs the
// export given in its environment and reports its own memory.
func TestExportChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("the child process of TestExport100k")
	}
	args := strings.Split(os.Getenv("MYKEY_AUDIT_CHILD_ARGS"), "\x1f")
	var peakInuse, peakHeapSys, peakSys atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			for _, p := range []struct {
				v *atomic.Uint64
				x uint64
			}{{&peakInuse, ms.HeapInuse}, {&peakHeapSys, ms.HeapSys}, {&peakSys, ms.Sys}} {
				if p.x > p.v.Load() {
					p.v.Store(p.x)
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	var errb syncbuf.Buffer
	err := execAudit(context.Background(), os.Stdout, &errb, args...)
	close(stop)
	<-sampled
	m := memReport{PeakHeapInuse: peakInuse.Load(), PeakHeapSys: peakHeapSys.Load(), PeakSys: peakSys.Load(),
		VmHWMKiB: vmHWM(), Seconds: time.Since(start).Seconds(), Stderr: errb.String()}
	if err != nil {
		m.Err = err.Error()
	}
	bz, _ := json.Marshal(m)
	fmt.Printf("\nMEMREPORT %s\n", bz)
}

// vmHWM reads the process's peak resident set size (KiB) from /proc.
func vmHWM() int64 {
	bz, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(bz), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// loadGrants records total grants on n: a provider and a program of their
// own, a few people, and grant transactions of 1000 charges each, sent a
// few at a time. It returns the yen granted.
func loadGrants(n *testNet, total int) (int64, error) {
	if err := n.registerProvider("bulkpay", "Bulk Pay"); err != nil {
		return 0, err
	}
	now, err := n.blockTime()
	if err != nil {
		return 0, err
	}
	start, end := now.AddDate(0, 0, -40).Unix(), now.AddDate(1, 0, 0).Unix()
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: &types.Program{
		Id: "bulk", Name: "Bulk", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: 2500, CapYen: 1_000_000_000_000,
		LinkStart: start, LinkEnd: end, GrantStart: start, GrantEnd: end, BudgetYen: 1_000_000_000_000_000}}}}); err != nil {
		return 0, err
	}
	var cards []*testca.Card
	var accounts []string
	for i := range 20 {
		c, err := n.card()
		if err != nil {
			return 0, err
		}
		cards = append(cards, c)
		accounts = append(accounts, fmt.Sprintf("bulk-%d", i))
	}
	ids, err := n.link("bulk", "bulkpay", cards, accounts)
	if err != nil {
		return 0, err
	}
	const perTx, wave = 1000, 8
	var yen int64
	var hashes [][]byte
	flush := func() error {
		for _, h := range hashes {
			res, err := n.await(h, 5*time.Minute)
			if err != nil {
				return err
			}
			ys, err := granted(res)
			if err != nil {
				return err
			}
			for _, y := range ys {
				yen += y
			}
		}
		hashes = hashes[:0]
		return nil
	}
	for first := 0; first < total; first += perTx {
		var charges []*types.Charge
		for i := first; i < min(first+perTx, total); i++ {
			charges = append(charges, &types.Charge{ProgramId: "bulk", MykeyId: ids[i%len(ids)], ChargeRef: fmt.Sprintf("b%07d", i),
				AmountYen: int64(400 + i%9600), ChargedAt: now.Add(-time.Duration(i%(30*24)) * time.Hour).Unix()})
		}
		tx, err := n.grantTx("bulkpay", charges)
		if err != nil {
			return 0, err
		}
		h, err := n.broadcast(tx)
		if err != nil {
			return 0, err
		}
		hashes = append(hashes, h)
		if len(hashes) == wave {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	return yen, flush()
}
