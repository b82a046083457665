package jpki

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testca"
)

// TestCacheEquivalence checks that cached and uncached verifiers give
// identical answers (certificate, reason and detail) for every case at every
// time, whichever time a certificate was first verified (and cached) at.
func TestCacheEquivalence(t *testing.T) {
	f := fx(t)
	for _, tt := range verifyTests {
		anchors, der, _, _ := tt.inputs(t, f)
		times := append([]time.Time{tt.at, {}}, crossCheckTimes...)
		uncached := newV(t, 0, anchors...)
		want := make([]error, len(times))
		for i, at := range times {
			_, want[i] = uncached.VerifyCertificate(der, at)
		}
		// Warm the cache at each time in turn, then ask at all times, in
		// both orders.
		for w, warmAt := range times {
			v := newV(t, 8, anchors...)
			v.VerifyCertificate(der, warmAt)
			for pass := range 2 {
				for j := range times {
					i := j
					if pass == 1 {
						i = len(times) - 1 - j
					}
					cert, err := v.VerifyCertificate(der, times[i])
					if !sameError(err, want[i]) {
						t.Errorf("%s: warmed at %s, at %s: cached %v, uncached %v", tt.name, stamp(times[w]), stamp(times[i]), err, want[i])
					}
					if err == nil && (cert == nil || string(cert.Raw) != string(der)) {
						t.Errorf("%s: wrong certificate from cache", tt.name)
					}
				}
			}
		}
	}
}

// TestCacheHitOutsideValidity shows the time checks run on a cache hit: a
// card cached when valid is refused, from the cache, once expired.
func TestCacheHitOutsideValidity(t *testing.T) {
	f := fx(t)
	cached, uncached := newV(t, 16, f.ca.Cert), newV(t, 0, f.ca.Cert)
	if _, err := cached.VerifyCertificate(f.good.CertDER, blockTime); err != nil {
		t.Fatal(err)
	}
	if n := cached.cache.len(); n != 1 {
		t.Fatalf("cache holds %d entries after one success, want 1", n)
	}
	hits := cached.cache.hits.Load()
	for _, at := range []time.Time{date(2035, 1, 1), date(2023, 1, 1), {}} {
		_, got := cached.VerifyCertificate(f.good.CertDER, at)
		_, want := uncached.VerifyCertificate(f.good.CertDER, at)
		if got == nil || !sameError(got, want) {
			t.Errorf("at %s: cached %v, uncached %v", stamp(at), got, want)
		}
	}
	if got := cached.cache.hits.Load() - hits; got != 3 {
		t.Errorf("%d cache hits, want 3: the refusals did not come from the cache", got)
	}
	// Key usage is checked on hits too.
	if _, err := cached.VerifyCertificate(f.noDigSig.CertDER, blockTime); ReasonOf(err) != KeyUsage {
		t.Fatalf("noDigSig: %v", err)
	}
	if _, err := cached.VerifyCertificate(f.noDigSig.CertDER, blockTime); ReasonOf(err) != KeyUsage || cached.cache.len() != 2 {
		t.Errorf("noDigSig from cache: %v (entries %d)", err, cached.cache.len())
	}
	// Refusals before the chain is known are never cached.
	cached.VerifyCertificate(f.fromSameName.CertDER, blockTime)
	cached.VerifyCertificate([]byte("junk"), blockTime)
	if n := cached.cache.len(); n != 2 {
		t.Errorf("cache holds %d entries, want 2: untrusted or malformed certificates were cached", n)
	}
}

func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 7, 64, 100, 1000, 5000} {
		c := newCertCache(size)
		total := 0
		for i := range c.shards {
			total += c.shards[i].cap
		}
		if total != size {
			t.Errorf("size %d: shard capacities sum to %d", size, total)
		}
		r := &chainResult{}
		for i := range 3 * size {
			k := sha256.Sum256(fmt.Appendf(nil, "%d", i))
			c.put(&k, r)
			if i%3 == 0 {
				c.get(&k) // set some reference bits
			}
		}
		if n := c.len(); n != size {
			t.Errorf("size %d: holds %d entries after %d puts", size, n, 3*size)
		}
	}
	if newCertCache(0) != nil || newCertCache(-1) != nil {
		t.Error("a cache of size <= 0 is not disabled")
	}
}

// TestCacheClock checks the eviction policy keeps recently used entries.
func TestCacheClock(t *testing.T) {
	c := newCertCache(4) // a single shard
	key := func(i int) *[32]byte { k := sha256.Sum256([]byte{byte(i)}); return &k }
	r := func(i int) *chainResult { return &chainResult{anchors: make([]*x509.Certificate, i)} }
	for i := range 4 {
		c.put(key(i), r(i))
	}
	c.get(key(0)) // 0 is used; 1 is the oldest unused
	c.put(key(4), r(4))
	if c.get(key(0)) == nil || c.get(key(1)) != nil || c.get(key(4)) == nil {
		t.Error("CLOCK evicted a recently used entry instead of the oldest unused one")
	}
	c.put(key(4), r(9)) // an existing key is not replaced
	if got := c.get(key(4)); got == nil || len(got.anchors) != 4 {
		t.Error("put replaced an existing entry")
	}
}

// TestConcurrentVerify hammers verifiers (one with a cache much smaller
// than the working set, so entries are evicted and rebuilt all the time) from
// many goroutines and checks every answer. Run with -race.
func TestConcurrentVerify(t *testing.T) {
	f := fx(t)
	anchors := []*x509.Certificate{f.ca.Cert, f.shortCA.Cert, f.renewedCA.Cert, f.futureCA.Cert}
	var ders [][]byte
	for _, c := range []*testca.Card{f.good, f.good2, f.expired, f.notYet, f.noDigSig, f.weak, f.fromSameName, f.fromOtherName, f.fromShort, f.fromFuture} {
		ders = append(ders, c.CertDER)
	}
	ders = append(ders, f.noKU, f.critExt, f.ecdsaCert, f.ca.Cert.Raw, []byte("junk"))
	times := []time.Time{blockTime, date(2024, 6, 1), date(2025, 5, 1), date(2028, 1, 1), date(2030, 1, 1), {}}
	uncached := newV(t, 0, anchors...)
	want := make([][]error, len(ders))
	for i, der := range ders {
		for _, at := range times {
			_, err := uncached.VerifyCertificate(der, at)
			want[i] = append(want[i], err)
		}
	}
	sigs := [][]byte{sign(t, f.good, msg), sign(t, f.good2, msg)}
	for _, size := range []int{3, DefaultCacheSize} {
		t.Run(fmt.Sprintf("cache %d", size), func(t *testing.T) {
			v := newV(t, size, anchors...)
			const goroutines, rounds = 8, 300
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for n := range rounds {
						i, j := (g*7+n)%len(ders), (g+n*5)%len(times)
						if cert, err := v.VerifyCertificate(ders[i], times[j]); !sameError(err, want[i][j]) || (err == nil) != (cert != nil) {
							t.Errorf("der %d at %s: %v, want %v", i, stamp(times[j]), err, want[i][j])
							return
						}
						if n%10 == 0 { // whole verifications too
							k := n / 10 % 2
							_, err := v.Verify(ders[k], msg, sigs[k], blockTime)
							_, crossErr := v.Verify(ders[k], msg, sigs[1-k], blockTime)
							if err != nil || ReasonOf(crossErr) != BadSignature {
								t.Errorf("Verify: %v; swapped signatures: %v", err, crossErr)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			if v.cache.hits.Load() == 0 {
				t.Error("no cache hits")
			}
			if n := v.cache.len(); n > size {
				t.Errorf("cache holds %d > %d entries", n, size)
			}
		})
	}
}
