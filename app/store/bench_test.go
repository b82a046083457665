package store

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"testing"
	"time"
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

// BenchmarkReopen measures Open of an on-disk store holding
// MYKEY_REOPEN_RECORDS records (default 1,000,000, bulk loaded): through
// the bucket layer saved by Close, and rebuilding the trie from every leaf
// (the layer deleted). One op is one reopen of each kind. It reports the
// milliseconds of each Open (Badger's own start-up included), of the trie
// building alone (loadLayer vs rebuild, on an open store), of saving the
// layer (what Close adds), and the layer's size.
func BenchmarkReopen(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("MYKEY_REOPEN_RECORDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("MYKEY_REOPEN_RECORDS=%q: want a positive number of records", v)
		}
	}
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	bl, err := s.Bulk(nil)
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 100)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(val, uint64(i))
		if err := bl.Set(testKey(i), val, uint64(i%7)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := bl.Commit(1, nil); err != nil {
		b.Fatal(err)
	}
	root := s.AppHash()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}

	open := func(fromLayer bool) (*Store, time.Duration) {
		t0 := time.Now()
		s, err := Open(dir, Options{})
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if s.trieFromLayer != fromLayer || !bytes.Equal(s.AppHash(), root) {
			b.Fatalf("Open from the layer: %v, want %v (%v); root %x, want %x", s.trieFromLayer, fromLayer, s.layerMiss, s.AppHash(), root)
		}
		return s, d
	}
	var layerOpen, leavesOpen, layerTrie, leavesTrie, save time.Duration
	var layerBytes int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, d := open(true)
		layerOpen += d
		for _, k := range rawKeys(b, s, prefixLayer) {
			if !bytes.Equal(k, keyLayerHeader) {
				v, err := getValue(s.snap.txn, k)
				if err != nil {
					b.Fatal(err)
				}
				layerBytes += len(v)
			}
		}
		// The trie building alone, both ways, on the open store.
		t0 := time.Now()
		if _, err := s.loadLayer(s.snap.txn, 1, root); err != nil {
			b.Fatal(err)
		}
		layerTrie += time.Since(t0)
		t0 = time.Now()
		if _, err := rebuild(s.snap.txn, s.bucket, nil); err != nil {
			b.Fatal(err)
		}
		leavesTrie += time.Since(t0)
		// Without the layer: Open reads every leaf.
		if err := s.dropLayer(); err != nil {
			b.Fatal(err)
		}
		s.noSaveLayer = true
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		s, d = open(false)
		leavesOpen += d
		t0 = time.Now()
		if err := s.saveLayer(1, root, s.snap.trie); err != nil { // what Close does
			b.Fatal(err)
		}
		save += time.Since(t0)
		s.layerCurrent = true
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(layerOpen), "open-layer-ms")
	b.ReportMetric(ms(leavesOpen), "open-leaves-ms")
	b.ReportMetric(float64(leavesOpen)/float64(layerOpen), "open-ratio")
	b.ReportMetric(ms(layerTrie), "trie-layer-ms")
	b.ReportMetric(ms(leavesTrie), "trie-leaves-ms")
	b.ReportMetric(float64(leavesTrie)/float64(layerTrie), "trie-ratio")
	b.ReportMetric(ms(save), "save-ms")
	b.ReportMetric(float64(layerBytes)/float64(b.N)/1e6, "layer-MB")
}

// BenchmarkBulkLoad measures a bulk load of MYKEY_BULK_RECORDS records
// (default 1,000,000; 100-byte values, a Flush every 100,000 records and a
// Get of a record set before it, as the app's pre-fill does) into an empty
// on-disk store, Commit included. One op is one load into a fresh store. It
// reports records/s of the load and the milliseconds Close takes after it
// (Badger flushing what the load left in its memtables).
func BenchmarkBulkLoad(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("MYKEY_BULK_RECORDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("MYKEY_BULK_RECORDS=%q: want a positive number of records", v)
		}
	}
	val := make([]byte, 100)
	var load, closing time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		bl, err := s.Bulk(nil)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < n; j++ {
			// Keys in a scattered order, as hashed IDs would come.
			k := testKey(int(uint64(j) * 0x9E3779B97F4A7C15 % uint64(n)))
			binary.BigEndian.PutUint64(val, uint64(j))
			if err := bl.Set(k, val, uint64(j%7)); err != nil {
				b.Fatal(err)
			}
			if j%100_000 == 99_999 {
				if err := bl.Flush(); err != nil {
					b.Fatal(err)
				}
				if v, err := bl.Get(k); err != nil || !bytes.Equal(v, val) {
					b.Fatalf("Get after Flush: %x, %v", v, err)
				}
			}
		}
		if _, err := bl.Commit(1, nil); err != nil {
			b.Fatal(err)
		}
		load += time.Since(t0)
		t0 = time.Now()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		closing += time.Since(t0)
	}
	b.ReportMetric(float64(n)*float64(b.N)/load.Seconds(), "records/s")
	b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "close-ms")
}
