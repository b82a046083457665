package jpki

import (
	"crypto/x509"
	"sync"
	"testing"

	"github.com/mykeyledger/mykey/internal/testca"
)

// benchSet is a trusted CA with many distinct card certificates (sharing
// the PoolSize pool keys) and each card's signature over msg.
type benchSet struct {
	ca   *testca.CA
	ders [][]byte
	sigs [][]byte
}

const benchCerts = 1024

var (
	benchOnce sync.Once
	bench     benchSet
)

func benchFixture(b *testing.B) *benchSet {
	benchOnce.Do(func() {
		testca.Prefetch(testca.PoolSize)
		bench.ca = testca.MustCA(b)
		var mu sync.Mutex
		var wg sync.WaitGroup
		bench.ders, bench.sigs = make([][]byte, benchCerts), make([][]byte, benchCerts)
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < benchCerts; i += 4 {
					card, err := bench.ca.Issue(testca.CardOptions{})
					if err != nil {
						panic(err)
					}
					sig, err := card.Sign(msg)
					if err != nil {
						panic(err)
					}
					mu.Lock()
					bench.ders[i], bench.sigs[i] = card.CertDER, sig
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
	return &bench
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkVerify measures full verifications (certificate and signature)
// with a warm cache: the steady state of a validator re-checking cards.
func BenchmarkVerify(b *testing.B) {
	s := benchFixture(b)
	v, err := NewVerifier([]*x509.Certificate{s.ca.Cert})
	if err != nil {
		b.Fatal(err)
	}
	for i := range s.ders {
		if _, err := v.Verify(s.ders[i], msg, s.sigs[i], blockTime); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cached", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := v.Verify(s.ders[i], msg, s.sigs[i], blockTime); err != nil {
				b.Fatal(err)
			}
			i = (i + 1) % len(s.ders)
		}
		reportRate(b)
	})
	b.Run("cached-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := v.Verify(s.ders[i], msg, s.sigs[i], blockTime); err != nil {
					b.Error(err)
					return
				}
				i = (i + 1) % len(s.ders)
			}
		})
		reportRate(b)
	})
}

// BenchmarkVerifyCertificate measures certificate checks alone: uncached
// (parse and chain building on every call, each certificate distinct) and
// cached.
func BenchmarkVerifyCertificate(b *testing.B) {
	s := benchFixture(b)
	for _, bc := range []struct {
		name string
		size int
	}{{"uncached", 0}, {"cached", DefaultCacheSize}} {
		v, err := NewVerifierWithCache([]*x509.Certificate{s.ca.Cert}, bc.size)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := v.VerifyCertificate(s.ders[i], blockTime); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) % len(s.ders)
			}
			reportRate(b)
		})
	}
}
