package app

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Benchmarks of FinalizeBlock+Commit against a state pre-filled with many
// linked people (BulkLink), and the RSA baseline. Run with
// scripts/bench-app.sh, or:
//
//	go test -run '^$' -bench 'BenchmarkBlocks|BenchmarkRSA' -benchtime 1x ./app/
//
// BenchmarkBlocks runs its blocks once whatever b.N, so use -benchtime 1x.
// MYKEY_BENCH_PEOPLE sets the state sizes (default "100000,1000000");
// MYKEY_BENCH_BLOCKS the timed blocks per size (default 5; one more,
// untimed, warms up); MYKEY_BENCH_LINKS the links per block (default 2000);
// MYKEY_BENCH_CHARGES the charges per block (default 10000, in grants of
// 100); MYKEY_BENCH_DUP_PERCENT the share of those charges that reuse a
// pre-filled charge's reference, duplicates the ledger rejects (default
// 10); MYKEY_BENCH_SETTLE the most seconds to wait after the pre-fill for
// the store to settle (default 300); MYKEY_BENCH_PROFILE a directory: one
// more link block and one more charge block at the largest size are run
// under the CPU profiler, into links-<people>.pprof and
// grants-<people>.pprof there.

const (
	benchChargesPerTx = 100
	// benchChargeYen is each benchmark charge's amount: a quarter is
	// granted, so a person stays far below the cap even in small states.
	benchChargeYen = 100
)

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// prefill links people synthetic people to paypay, each charged once
// (BulkLinkCharged), as the first block and returns their MyKey IDs.
func prefill(b testing.TB, n *testNet, people int) []string {
	start := time.Now()
	n.height++
	n.now = n.now.Add(5 * time.Second)
	ids, err := BulkLinkCharged(n.app, people, "mynapoint", "paypay", n.now)
	if err != nil {
		b.Fatal(err)
	}
	if h := n.app.store.Height(); h != n.height {
		b.Fatalf("BulkLink committed height %d, want %d", h, n.height)
	}
	b.Logf("prefill of %d people (a charge each): %v (%.0f people/s)", people, time.Since(start).Round(time.Millisecond),
		float64(people)/time.Since(start).Seconds())
	return ids
}

// settle waits, at most limit, for the store to settle after the
// pre-fill: for Badger's background compactions to finish, which would
// otherwise share the cores with the timed blocks. Nothing else runs in
// the process meanwhile, so it is settled when the process uses less than
// a tenth of one core over two seconds (read from /proc/self/stat). It
// returns how long it waited and whether it settled.
func settle(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	const window = 2 * time.Second
	prev, ok := processCPU()
	if !ok {
		return 0, false
	}
	for time.Since(start) < limit {
		time.Sleep(min(window, limit-time.Since(start)))
		cur, ok := processCPU()
		if !ok {
			break
		}
		if cur-prev < window/10 {
			return time.Since(start), true
		}
		prev = cur
	}
	return time.Since(start), false
}

// processCPU is the CPU time (user and system) this process has used,
// from /proc/self/stat.
func processCPU() (time.Duration, bool) {
	bz, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command name in parentheses: utime and stime
	// are the 12th and 13th, in clock ticks (100 a second on Linux).
	s := string(bz)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

func benchSizes() []int {
	spec := os.Getenv("MYKEY_BENCH_PEOPLE")
	if spec == "" {
		spec = "100000,1000000"
	}
	var out []int
	for _, f := range splitComma(spec) {
		v, err := strconv.Atoi(f)
		if err == nil && v > 0 {
			out = append(out, v)
		}
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// benchLinkBlocks returns blocks of citizen-signed links from fresh cards
// (first sight of each signature, so every RSA verification is paid). They
// are made once per process and reused for every state size: the CA is
// shared, and every prefilled app is at the same height and time.
var benchLinkBlocks = struct {
	sync.Mutex
	blocks [][][]byte
}{}

func linkBlocks(b *testing.B, n *testNet, first, count, perBlock int) [][][]byte {
	benchLinkBlocks.Lock()
	defer benchLinkBlocks.Unlock()
	for len(benchLinkBlocks.blocks) < first+count {
		i := len(benchLinkBlocks.blocks)
		blk := make([][]byte, perBlock)
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for j := w; j < perBlock; j += workers {
					// Distinct certificates; keys shared from the test pool.
					card := n.ca.MustIssue(b, testca.CardOptions{Key: testca.Key(j % 8)})
					blk[j] = n.linkTx(card, "mynapoint", "linepay", fmt.Sprintf("bl/%d/%d", i, j))
				}
			}(w)
		}
		wg.Wait()
		benchLinkBlocks.blocks = append(benchLinkBlocks.blocks, blk)
	}
	return benchLinkBlocks.blocks[first : first+count]
}

// blockTimes runs the blocks (the first one untimed, to warm up) and
// returns the times of FinalizeBlock and of Commit of the others.
func blockTimes(b *testing.B, n *testNet, blocks [][][]byte, check func([]*abci.ExecTxResult)) (fin, com []time.Duration) {
	for i, blk := range blocks {
		start := time.Now()
		res := n.finalize(blk...)
		mid := time.Now()
		if _, err := n.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			b.Fatalf("Commit %d: %v", n.height, err)
		}
		end := time.Now()
		check(res.TxResults)
		if i > 0 {
			fin = append(fin, mid.Sub(start))
			com = append(com, end.Sub(mid))
		}
	}
	return fin, com
}

// BenchmarkBlocks pre-fills a fresh on-disk app with MYKEY_BENCH_PEOPLE
// people (BulkLink) for each size, then measures, on that state:
//
//   - prefill: people/s of the bulk load (each person linked and charged
//     once), and the wait for the store to settle after it (settle-s;
//     settled 1, or 0 if MYKEY_BENCH_SETTLE seconds passed first);
//   - links: links/s through FinalizeBlock+Commit, blocks of
//     MYKEY_BENCH_LINKS citizen-signed links from fresh cards (first sight
//     of each signature, so every RSA verification is paid);
//   - links-checked: the same with links that passed CheckTx before their
//     block (as on a validator, whose mempool saw them first), so their
//     signatures are already verified;
//   - grants: charges/s through FinalizeBlock+Commit, blocks of
//     MYKEY_BENCH_CHARGES charges in grants of 100 for pre-filled people
//     spread over the whole state, MYKEY_BENCH_DUP_PERCENT of them
//     reusing a pre-filled charge's reference (a duplicate: the lookup
//     hits and the charge is rejected), the rest new (the lookup misses);
//     every charge's outcome is checked and the duplicates counted;
//   - profile (at the largest size, with MYKEY_BENCH_PROFILE): one more
//     block of each of links and grants under the CPU profiler;
//   - reopen: seconds to close the app (the store saves its trie's bucket
//     layer) and to reopen it (the store builds its in-memory trie from
//     that layer; its bucket cache warms up in the background after).
func BenchmarkBlocks(b *testing.B) {
	// The store's caches, in MiB (unset: the store's defaults);
	// scripts/bench-app.sh gives those of a validator's default budget.
	mib := func(name string) int64 { return int64(benchEnvInt(name, 0)) << 20 }
	blocks := benchEnvInt("MYKEY_BENCH_BLOCKS", 5) + 1
	links := benchEnvInt("MYKEY_BENCH_LINKS", 2000)
	charges := max(1, benchEnvInt("MYKEY_BENCH_CHARGES", 10000)/benchChargesPerTx) * benchChargesPerTx
	dupPercent := 10
	if v, err := strconv.Atoi(os.Getenv("MYKEY_BENCH_DUP_PERCENT")); err == nil && v >= 0 && v <= 100 {
		dupPercent = v
	}
	settleLimit := time.Duration(benchEnvInt("MYKEY_BENCH_SETTLE", 300)) * time.Second
	profileDir := os.Getenv("MYKEY_BENCH_PROFILE")
	if len(benchSizes()) == 0 {
		b.Fatalf("MYKEY_BENCH_PEOPLE=%q names no state size", os.Getenv("MYKEY_BENCH_PEOPLE"))
	}
	largest := slices.Max(benchSizes())
	for _, people := range benchSizes() {
		b.Run(fmt.Sprintf("people=%d", people), func(b *testing.B) {
			n := newTestNet(b, netOptions{dir: b.TempDir(), trieCache: mib("MYKEY_BENCH_TRIE_CACHE_MIB"), blockCache: mib("MYKEY_BENCH_BLOCK_CACHE_MIB")})
			defer func() { n.app.Close() }()
			start := time.Now()
			ids := prefill(b, n, people)
			took := time.Since(start)
			waited, settled := settle(settleLimit)
			if settled {
				b.Logf("people=%d: settled %.1f s after the pre-fill", people, waited.Seconds())
			} else {
				b.Logf("people=%d: NOT settled after %.1f s (the bound): the blocks share the cores with the store's compactions", people, waited.Seconds())
			}
			b.Run("prefill", func(b *testing.B) {
				b.ReportMetric(float64(people)/took.Seconds(), "people/s")
				b.ReportMetric(took.Seconds(), "s")
				b.ReportMetric(waited.Seconds(), "settle-s")
				b.ReportMetric(map[bool]float64{true: 1, false: 0}[settled], "settled")
			})
			b.Run("links", func(b *testing.B) {
				timeBlocks(b, n, linkBlocks(b, n, 0, blocks, links), links, "links/s")
			})
			b.Run("links-checked", func(b *testing.B) {
				// As on a validator: every link passed CheckTx when it
				// reached the mempool (untimed here), so FinalizeBlock finds
				// its signature verified.
				blks := linkBlocks(b, n, blocks, blocks, links)
				for _, blk := range blks {
					for _, tx := range blk {
						r, err := n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
						if err != nil || r.Code != 0 {
							b.Fatalf("CheckTx: %v %+v", err, r)
						}
					}
				}
				timeBlocks(b, n, blks, links, "links/s")
			})
			k := 0 // charges made so far, for unique references
			b.Run("grants", func(b *testing.B) {
				blks, dups := grantBlocks(n, ids, &k, blocks, charges, dupPercent)
				timeGrantBlocks(b, n, blks, dups, charges)
			})
			if profileDir != "" && people == largest {
				b.Run("profile", func(b *testing.B) {
					blk := linkBlocks(b, n, 2*blocks, 1, links)
					profileBlock(b, n, blk, filepath.Join(profileDir, fmt.Sprintf("links-%d.pprof", people)), links, nil)
					gblk, dups := grantBlocks(n, ids, &k, 1, charges, dupPercent)
					profileBlock(b, n, gblk, filepath.Join(profileDir, fmt.Sprintf("grants-%d.pprof", people)), charges, dups)
				})
			}
			b.Run("reopen", func(b *testing.B) {
				want := n.appHash()
				closing := time.Now()
				if err := n.app.Close(); err != nil { // saves the trie's bucket layer
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(closing).Seconds(), "close-s")
				start := time.Now()
				n.open()
				b.ReportMetric(time.Since(start).Seconds(), "s")
				if got := n.appHash(); string(got) != string(want) {
					b.Fatalf("reopened at app hash %x, want %x", got, want)
				}
			})
		})
	}
}

// timeBlocks runs blocks of items (every transaction must be accepted)
// and reports their rate.
func timeBlocks(b *testing.B, n *testNet, blks [][][]byte, items int, unit string) {
	before := n.app.store.Stats()
	b.ResetTimer()
	fin, com := blockTimes(b, n, blks, func(rs []*abci.ExecTxResult) {
		for _, r := range rs {
			if r.Code != 0 {
				b.Fatalf("rejected (%s): %s", unit, r.Log)
			}
		}
	})
	b.StopTimer()
	reportRate(b, n, before, fin, com, items, unit)
}

// grantBlocks makes count blocks of charges charges in grants of 100, by
// paypay for the pre-filled people ids, spread over the state (a stride
// through the IDs); dupPercent of every 100 reuse the reference of the
// person's pre-filled charge (duplicates), the others are new (from *k
// on). It returns the blocks and the duplicates in each.
func grantBlocks(n *testNet, ids []string, k *int, count, charges, dupPercent int) ([][][]byte, []int) {
	blks := make([][][]byte, count)
	dups := make([]int, count)
	for i := range blks {
		for t := 0; t < charges/benchChargesPerTx; t++ {
			var chs []*types.Charge
			for c := 0; c < benchChargesPerTx; c++ {
				j := (*k * 7919) % len(ids)
				ref := fmt.Sprintf("r%d", *k)
				if c < dupPercent {
					ref = BulkChargeRef(j)
					dups[i]++
				}
				chs = append(chs, charge("mynapoint", ids[j], ref, benchChargeYen))
				*k++
			}
			blks[i] = append(blks[i], n.grantTx("paypay", chs...))
		}
	}
	return blks, dups
}

// checkGrants checks a grant block's results: every transaction passes,
// and its charges are granted but for the want duplicates, rejected as
// such.
func checkGrants(b *testing.B, rs []*abci.ExecTxResult, want int) {
	dup := strconv.Itoa(int(types.ErrDuplicateCharge.Code))
	got := 0
	for _, r := range rs {
		if r.Code != 0 {
			b.Fatalf("grant rejected: %s", r.Log)
		}
		for _, ev := range r.Events {
			if ev.Type != types.EventGrant {
				continue
			}
			for _, a := range ev.Attributes {
				switch {
				case a.Key != types.AttrCode || a.Value == "0":
				case a.Value == dup:
					got++
				default:
					b.Fatalf("a charge rejected with code %s (not a duplicate)", a.Value)
				}
			}
		}
	}
	if got != want {
		b.Fatalf("%d duplicate charges rejected, want %d", got, want)
	}
}

// timeGrantBlocks runs blocks of charges, checks each charge's outcome,
// and reports their rate, with the share of duplicates.
func timeGrantBlocks(b *testing.B, n *testNet, blks [][][]byte, dups []int, charges int) {
	before := n.app.store.Stats()
	i := 0
	b.ResetTimer()
	fin, com := blockTimes(b, n, blks, func(rs []*abci.ExecTxResult) {
		checkGrants(b, rs, dups[i])
		i++
	})
	b.StopTimer()
	reportRate(b, n, before, fin, com, charges, "charges/s")
	all := 0
	for _, d := range dups {
		all += d
	}
	b.ReportMetric(float64(all)/float64(len(dups)), "dups/block")
}

// profileBlock runs one block (of items, dups duplicate charges if a grant
// block) under the CPU profiler, into file, and reports its cost.
func profileBlock(b *testing.B, n *testNet, blk [][][]byte, file string, items int, dups []int) {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res := n.finalize(blk[0]...)
	if _, err := n.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	pprof.StopCPUProfile()
	if dups != nil {
		checkGrants(b, res.TxResults, dups[0])
	} else {
		for _, r := range res.TxResults {
			if r.Code != 0 {
				b.Fatalf("rejected: %s", r.Log)
			}
		}
	}
	b.Logf("profiled a block of %d items: %v (%.0f µs/item) into %s", items, took.Round(time.Millisecond), float64(took.Microseconds())/float64(items), file)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// reportRate reports the median block's rate and per-item cost, the
// median FinalizeBlock and Commit times, and the store's work per item.
func reportRate(b *testing.B, n *testNet, before store.Stats, fin, com []time.Duration, items int, unit string) {
	total := make([]time.Duration, len(fin))
	for i := range fin {
		total[i] = fin[i] + com[i]
	}
	med := median(total)
	b.ReportMetric(float64(items)/med.Seconds(), unit)
	b.ReportMetric(float64(med.Microseconds())/float64(items), "µs/item")
	b.ReportMetric(float64(median(fin).Microseconds())/1000, "fin-ms")
	b.ReportMetric(float64(median(com).Microseconds())/1000, "commit-ms")
	after := n.app.store.Stats()
	all := float64(items * (len(fin) + 1))
	b.ReportMetric(float64(after.LeafChanges-before.LeafChanges)/all, "leaves/item")
	b.ReportMetric(float64(after.BucketReads-before.BucketReads)/all, "bucket-reads/item")
	b.ReportMetric(float64(after.Writes-before.Writes)/all, "writes/item")
}

// BenchmarkRSAVerify is the raw limit: RSA-2048 PKCS#1 v1.5 verifications
// per second with crypto/rsa, on one core and on all cores. Each runs for
// MYKEY_BENCH_RSA_SECONDS (default 3) whatever b.N, so use -benchtime 1x.
func BenchmarkRSAVerify(b *testing.B) {
	key := testca.Key(0)
	digest := sha256.Sum256([]byte("mykey"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &key.PublicKey
	dur := time.Duration(benchEnvInt("MYKEY_BENCH_RSA_SECONDS", 3)) * time.Second
	for _, cores := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("cores=%d", cores), func(b *testing.B) {
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				total int
			)
			start := time.Now()
			for w := 0; w < cores; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n := 0
					for time.Since(start) < dur {
						for i := 0; i < 100; i++ {
							if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
								b.Error(err)
								return
							}
						}
						n += 100
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "verifies/s")
		})
	}
}
