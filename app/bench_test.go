package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/jpki/jpkitest"
	"github.com/mykeyledger/mykey/app/types"
)

// Benchmarks of FinalizeBlock+Commit against a state pre-filled with many
// linked people. Run with scripts/bench-app.sh, or:
//
//	go test -run '^$' -bench 'BenchmarkBlock' -benchtime 5x ./app/
//
// MYKEY_BENCH_PEOPLE sets the state sizes (default "100000,1000000").

const (
	benchLinksPerBlock   = 2000
	benchChargesPerTx    = 100
	benchTxsPerBlock     = 100 // 10,000 charges per block
	benchPrefillPerBlock = 100_000
)

// prefill links n synthetic people to paypay through the real link rule
// (applyVerifiedLink), skipping only the card signature, in blocks of
// benchPrefillPerBlock. It returns their MyKey IDs.
func prefill(b testing.TB, n *testNet, people int) []string {
	n.block() // commit the genesis state
	ids := make([]string, 0, people)
	for start := 0; start < people; start += benchPrefillPerBlock {
		n.height++
		n.now = n.now.Add(5 * time.Second)
		stage := n.app.store.Stage()
		c := newCache(stage)
		x := &exec{app: n.app, c: c, height: n.height, time: n.now, chainID: testChain}
		for i := start; i < min(start+benchPrefillPerBlock, people); i++ {
			var serial [8]byte
			binary.BigEndian.PutUint64(serial[:], uint64(i)+1)
			id := jpki.CertID{Issuer: []byte("bench issuer"), Serial: serial[:]}
			acct := sha256.Sum256([]byte("bench/" + strconv.Itoa(i)))
			vl := &verifiedLink{
				req: &types.LinkRequest{ProgramId: "mynapoint", ProviderId: "paypay", AccountCommitment: acct[:]},
				ref: &types.CertRef{Issuer: id.Issuer, Serial: id.Serial},
				fp:  id.Fingerprint(),
			}
			mk, err := x.applyVerifiedLink(c, vl)
			if err != nil {
				b.Fatalf("prefill %d: %v", i, err)
			}
			ids = append(ids, mk)
		}
		if err := c.flush(stage); err != nil {
			b.Fatal(err)
		}
		if _, err := stage.Root(); err != nil {
			b.Fatal(err)
		}
		if err := n.app.store.Commit(stage, n.height); err != nil {
			b.Fatal(err)
		}
	}
	n.app.lastTime = n.now
	return ids
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

// BenchmarkBlockLinks measures links/s through FinalizeBlock+Commit: blocks
// of benchLinksPerBlock citizen-signed links from fresh cards (first sight
// of each signature, so every RSA verification is paid).
func BenchmarkBlockLinks(b *testing.B) {
	for _, people := range benchSizes() {
		b.Run(fmt.Sprintf("people=%d", people), func(b *testing.B) {
			n := newTestNet(b, netOptions{dir: b.TempDir()})
			defer n.app.Close()
			prefill(b, n, people)
			// Distinct certificates; keys shared from the test pool.
			blocks := make([][][]byte, b.N)
			for i := range blocks {
				for j := 0; j < benchLinksPerBlock; j++ {
					card := n.ca.MustIssue(b, jpkitest.CardOptions{Key: jpkitest.Key(j % 8)})
					blocks[i] = append(blocks[i], n.linkTx(card, "mynapoint", "linepay", fmt.Sprintf("bl/%d/%d", i, j)))
				}
			}
			b.ResetTimer()
			var took []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rs := n.block(blocks[i]...)
				took = append(took, time.Since(start))
				if rs[0].Code != 0 || rs[len(rs)-1].Code != 0 {
					b.Fatalf("link rejected: %s", rs[0].Log)
				}
			}
			reportRate(b, took, benchLinksPerBlock, "links/s")
		})
	}
}

// BenchmarkBlockGrants measures charges/s through FinalizeBlock+Commit:
// blocks of benchTxsPerBlock grants of benchChargesPerTx charges each, for
// pre-filled people.
func BenchmarkBlockGrants(b *testing.B) {
	for _, people := range benchSizes() {
		b.Run(fmt.Sprintf("people=%d", people), func(b *testing.B) {
			n := newTestNet(b, netOptions{dir: b.TempDir()})
			defer n.app.Close()
			ids := prefill(b, n, people)
			perBlock := benchTxsPerBlock * benchChargesPerTx
			blocks := make([][][]byte, b.N)
			k := 0
			for i := range blocks {
				for t := 0; t < benchTxsPerBlock; t++ {
					var chs []*types.Charge
					for c := 0; c < benchChargesPerTx; c++ {
						// Spread over the state: stride through the IDs.
						id := ids[(k*7919)%len(ids)]
						chs = append(chs, charge("mynapoint", id, fmt.Sprintf("r%d", k), 1000))
						k++
					}
					blocks[i] = append(blocks[i], n.grantTx("paypay", chs...))
				}
			}
			b.ResetTimer()
			var took []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rs := n.block(blocks[i]...)
				took = append(took, time.Since(start))
				if rs[0].Code != 0 {
					b.Fatalf("grant rejected: %s", rs[0].Log)
				}
			}
			reportRate(b, took, perBlock, "charges/s")
		})
	}
}

// reportRate reports the median block's rate and per-item cost.
func reportRate(b *testing.B, took []time.Duration, items int, unit string) {
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	med := took[len(took)/2]
	b.ReportMetric(float64(items)/med.Seconds(), unit)
	b.ReportMetric(float64(med.Microseconds())/float64(items), "µs/item")
}

var _ = context.Background
var _ = abci.ExecTxResult{}
