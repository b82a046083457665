package store

import (
	"testing"
)

// BenchmarkCommit10kOn100k measures blocks of 10k Set calls (half updates
// of existing records, half inserts) committed to an on-disk store that was
// pre-filled with 100k records. One op is one block.
func BenchmarkCommit10kOn100k(b *testing.B) {
	benchCommit(b, Options{})
}

// BenchmarkCommit10kOn100kInMemory is the same on an in-memory store (no
// redo log, no fsync).
func BenchmarkCommit10kOn100kInMemory(b *testing.B) {
	benchCommit(b, Options{InMemory: true})
}

func benchCommit(b *testing.B, opts Options) {
	const (
		prefill  = 100_000
		perBlock = 10_000
		valueLen = 200
	)
	dir := ""
	if !opts.InMemory {
		dir = b.TempDir()
	}
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := int64(0)
	for i := 0; i < prefill; i += perBlock {
		st := s.Stage()
		for j := i; j < i+perBlock; j++ {
			if err := st.Set(testKey(j), testValue(j, 0, valueLen), uint64(j%100)); err != nil {
				b.Fatal(err)
			}
		}
		h++
		if err := s.Commit(st, h); err != nil {
			b.Fatal(err)
		}
	}
	next := prefill
	// Values prepared outside the timer.
	vals := make([][]byte, perBlock)
	for i := range vals {
		vals[i] = testValue(i, 1, valueLen)
	}

	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		st := s.Stage()
		for j := 0; j < perBlock; j++ {
			var k int
			if j%2 == 0 {
				k = (n*perBlock + j*7919) % prefill // update
			} else {
				k = next // insert
				next++
			}
			if err := st.Set(testKey(k), vals[j], uint64(j)); err != nil {
				b.Fatal(err)
			}
		}
		h++
		if err := s.Commit(st, h); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(perBlock*b.N)/b.Elapsed().Seconds(), "records/s")
}
