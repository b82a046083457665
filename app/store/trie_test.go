package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pokt-network/smt"
	"github.com/pokt-network/smt/kvstore/simplemap"
)

// The store's trie must give exactly pokt-network/smt's roots and proofs,
// whatever the bucket size, through inserts, updates and deletes (which
// make smt build and collapse extension nodes).
func TestTrieMatchesSMT(t *testing.T) {
	for _, bucket := range []int{1, 2, 3, 8, 32} {
		t.Run(fmt.Sprintf("bucket=%d", bucket), func(t *testing.T) {
			s, err := Open("", Options{InMemory: true, BucketSize: bucket})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ref := smt.NewSparseMerkleSumTrie(simplemap.NewSimpleMap(), sha256.New())
			rng := rand.New(rand.NewPCG(uint64(bucket), 99))
			for h := int64(1); h <= 12; h++ {
				st := s.Stage()
				n := 1 + rng.IntN(300)
				if h == 6 {
					n = 0 // an empty block
				}
				for j := 0; j < n; j++ {
					k := testKey(rng.IntN(400))
					switch {
					case rng.IntN(10) < 3 || h == 10: // h 10 deletes a lot
						if err := st.Delete(k); err != nil {
							t.Fatal(err)
						}
						if err := ref.Delete(k); err != nil && !errors.Is(err, smt.ErrKeyNotFound) {
							t.Fatal(err)
						}
					default:
						v := testValue(rng.IntN(1000), int(h), rng.IntN(40))
						w := uint64(rng.IntN(3)) * uint64(rng.IntN(100000))
						if err := st.Set(k, v, w); err != nil {
							t.Fatal(err)
						}
						if err := ref.Update(k, trieValue(v), w); err != nil {
							t.Fatal(err)
						}
					}
					if j%50 == 49 { // intermediate roots must not matter
						if _, err := st.Root(); err != nil {
							t.Fatal(err)
						}
					}
				}
				root, err := st.Root()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(root, ref.Root()) {
					t.Fatalf("height %d: root %x, smt %x", h, root, []byte(ref.Root()))
				}
				if err := s.Commit(st, h); err != nil {
					t.Fatal(err)
				}
				if err := ref.Commit(); err != nil {
					t.Fatal(err)
				}
				// Proofs equal smt's, for present and absent keys.
				err = s.View(func(v *View) error {
					for i := 0; i < 420; i += 3 {
						k := testKey(i)
						got, err := v.proof(k)
						if err != nil {
							return err
						}
						want, err := ref.Prove(k)
						if err != nil {
							return err
						}
						if len(got.SideNodes) != len(want.SideNodes) {
							return fmt.Errorf("key %d: %d side nodes, smt %d", i, len(got.SideNodes), len(want.SideNodes))
						}
						for j := range got.SideNodes {
							if !bytes.Equal(got.SideNodes[j], want.SideNodes[j]) {
								return fmt.Errorf("key %d: side node %d differs", i, j)
							}
						}
						if !bytes.Equal(got.NonMembershipLeafData, want.NonMembershipLeafData) {
							return fmt.Errorf("key %d: non-membership data %x, smt %x", i, got.NonMembershipLeafData, want.NonMembershipLeafData)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("height %d: %v", h, err)
				}
			}
			checkTrieNodes(t, s)
		})
	}
}

// A bucket's leaves that do not match the trie are reported, not used:
// by Open when it rebuilds the trie from the leaves, and by the first read
// of the bucket when Open built the trie from the saved bucket layer
// (which reads no leaves).
func TestTrieDetectsCorruptLeaves(t *testing.T) {
	for _, fromLayer := range []bool{false, true} {
		dir := t.TempDir()
		s := openDisk(t, dir, Options{BucketSize: 4})
		blk := genBlocks(21, 1, 200, 1000)[0]
		commitBlock(t, s, blk, 1)
		// Drop one leaf behind the store's back.
		victim := rawKeys(t, s, prefixLeaf)[0]
		var key []byte
		m := model{}
		m.apply(blk)
		for k := range m {
			if p := sha256Path(k); bytes.Equal(leafKey(&p), victim) {
				key = []byte(k)
			}
		}
		if key == nil {
			t.Fatal("no record for the first leaf")
		}
		txn := s.db.NewTransaction(true)
		if err := txn.Delete(victim); err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
		s.noSaveLayer = !fromLayer
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if !fromLayer {
			if _, err := Open(dir, Options{BucketSize: 4}); err == nil {
				t.Fatal("open with a missing leaf succeeded")
			}
			continue
		}
		s = openDisk(t, dir, Options{BucketSize: 4})
		if !s.trieFromLayer {
			t.Fatalf("Open did not use the saved layer: %v", s.layerMiss)
		}
		if _, _, _, err := s.Prove(key); err == nil || !strings.Contains(err.Error(), "do not match its digest") {
			t.Fatalf("prove a record of the damaged bucket: %v, want a mismatch error", err)
		}
	}
}

// Buckets split as they fill and join again as records are deleted; the
// in-memory trie stays consistent through reopens with other bucket sizes.
func TestTrieBuckets(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{BucketSize: 4})
	var b block
	for i := 0; i < 500; i++ {
		b = append(b, change{key: testKey(i), value: testValue(i, 0, 30), weight: uint64(i)})
	}
	commitBlock(t, s, b, 1)
	checkTrieNodes(t, s)
	b = nil
	for i := 0; i < 498; i++ {
		b = append(b, change{key: testKey(i), del: true})
	}
	root := commitBlock(t, s, b, 2)
	checkTrieNodes(t, s)
	if s.snap.trie.bucket() != true {
		t.Fatal("2 records left in more than one bucket")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{BucketSize: 1})
	if !bytes.Equal(s.AppHash(), root) {
		t.Fatal("reopen changed the root")
	}
	checkTrieNodes(t, s)
}

// A bulk load gives the same state and root as blocks, also when its
// leaves spill to temporary files, with overwrites and deletes among them;
// an interrupted bulk load leaves nothing behind after Open.
func TestBulkLoad(t *testing.T) {
	old := leafPartsMemory
	leafPartsMemory = 500
	defer func() { leafPartsMemory = old }()
	blocks := genBlocks(41, 4, 3000, 5000)
	ref := openMem(t)
	m := commitAll(t, ref, blocks)
	for _, bucket := range []int{1, 32} {
		dir := t.TempDir()
		s := openDisk(t, dir, Options{BucketSize: bucket})
		b, err := s.Bulk(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, blk := range blocks {
			for _, c := range blk {
				if c.del {
					err = b.Delete(c.key)
				} else {
					err = b.Set(c.key, c.value, c.weight)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if i == 1 {
				if err := b.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if matches, _ := filepath.Glob(filepath.Join(dir, bulkTempPrefix+"*")); len(matches) != 1 {
			t.Fatalf("bucket %d: %d temporary directories, want 1 (the leaves spilled)", bucket, len(matches))
		}
		root, err := b.Commit(4, ref.AppHash())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, ref.AppHash()) || s.Height() != 4 {
			t.Fatal("bulk root or height")
		}
		if matches, _ := filepath.Glob(filepath.Join(dir, bulkTempPrefix+"*")); len(matches) != 0 {
			t.Fatal("temporary files left")
		}
		checkModel(t, s, m)
		checkTrieNodes(t, s)
		// It carries on like any store.
		blk := genBlocks(42, 1, 500, 5000)[0]
		if !bytes.Equal(commitBlock(t, s, blk, 5), commitBlock(t, ref, blk, 5)) {
			t.Fatal("roots diverge after a bulk load")
		}
		ref = openMem(t)
		for i, blk := range blocks {
			commitBlock(t, ref, blk, int64(i+1))
		}
	}

	// Interrupted: records and spilled leaves written, no commit.
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	b, err := s.Bulk(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range blocks[0] {
		if !c.del {
			_ = b.Set(c.key, c.value, c.weight)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	// Simulate the crash: close Badger without finishing.
	if matches, _ := filepath.Glob(filepath.Join(dir, bulkTempPrefix+"*")); len(matches) != 1 {
		t.Fatal("no spilled leaves")
	}
	for _, f := range b.leaves.files {
		if f != nil {
			f.Close()
		}
	}
	if err := b.wait(); err != nil {
		t.Fatal(err)
	}
	b.done = true
	s.commitMu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{})
	if s.Height() != 0 || len(rawKeys(t, s, nil)) != 0 {
		t.Fatal("interrupted bulk load left records")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, bulkTempPrefix+"*")); len(matches) != 0 {
		t.Fatal("interrupted bulk load left temporary files")
	}
}

// Records read by Prefetch belong to the block they were read at: a later
// block's reads see that block's records, never the remembered ones.
func TestPrefetchNeverStale(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k, absent := []byte("k"), []byte("absent")
	st := s.Stage()
	if err := st.Set(k, []byte("v1"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Root(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(st, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Prefetch([][]byte{k, absent}); err != nil {
		t.Fatal(err)
	}
	st = s.Stage()
	if err := st.Set(k, []byte("v2"), 2); err != nil {
		t.Fatal(err)
	}
	if err := st.Set(absent, []byte("now"), 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Get(k); string(v) != "v2" {
		t.Fatalf("stage reads %q, want its own v2", v)
	}
	if v, _ := s.Get(k); string(v) != "v1" {
		t.Fatalf("committed read %q before commit, want v1", v)
	}
	if _, err := st.Root(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(st, 2); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(k); string(v) != "v2" {
		t.Fatalf("after commit read %q, want v2", v)
	}
	if v, _ := s.Get(absent); string(v) != "now" {
		t.Fatalf("after commit read %q for the once absent key, want now", v)
	}
}

// Get during a bulk load sees everything set before the last Flush,
// whether that batch is still being written in the background or not, and
// nothing set after it.
func TestBulkGetAcrossFlushes(t *testing.T) {
	t.Run("disk", func(t *testing.T) { testBulkGetAcrossFlushes(t, openDisk(t, t.TempDir(), Options{})) })
	t.Run("memory", func(t *testing.T) { testBulkGetAcrossFlushes(t, openMem(t)) })
}

func testBulkGetAcrossFlushes(t *testing.T, s *Store) {
	b, err := s.Bulk(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Discard()
	get := func(k string) string {
		t.Helper()
		v, err := b.Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			return "<absent>"
		}
		return string(v)
	}
	want := map[string]string{}
	for batch := 0; batch < 6; batch++ {
		for i := 0; i < 2000; i++ {
			k := fmt.Sprintf("k%05d", (batch*1500+i)%5000) // overwrites across batches
			v := fmt.Sprintf("v%d-%d", batch, i)
			if err := b.Set([]byte(k), []byte(v), 0); err != nil {
				t.Fatal(err)
			}
			want[k] = v
		}
		if batch%2 == 1 {
			k := fmt.Sprintf("k%05d", batch*100)
			if err := b.Delete([]byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
		}
		// Not flushed yet: invisible (an overwritten key shows its old value).
		if batch == 0 && get("k00000") != "<absent>" {
			t.Fatal("a write before Flush is visible")
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		// Right after Flush (the batch possibly still in flight) and after
		// the next Flush (written): every key as last set.
		for _, check := range []bool{true, false} {
			for i := 0; i < 5000; i += 7 {
				k := fmt.Sprintf("k%05d", i)
				w, ok := want[k]
				if !ok {
					w = "<absent>"
				}
				if got := get(k); got != w {
					t.Fatalf("batch %d (in flight %v): %s = %s, want %s", batch, check, k, got, w)
				}
			}
			if check {
				if err := b.Flush(); err != nil { // nothing new: waits for the batch
					t.Fatal(err)
				}
			}
		}
	}
}

// A bulk load fills the bucket cache as it builds the trie, as far as the
// cache has room: the first block after it reads no bucket from Badger
// when the cache holds the whole state, and a small cache is never
// overfilled.
func TestBulkLoadWarmsTheCache(t *testing.T) {
	blocks := genBlocks(43, 2, 3000, 5000)
	for _, tc := range []struct {
		name  string
		cache int64
	}{{"all", 64 << 20}, {"small", 16 << 10}} {
		s := openDisk(t, t.TempDir(), Options{CacheSize: tc.cache})
		b, err := s.Bulk(nil)
		if err != nil {
			t.Fatal(err)
		}
		bulkLoadBlocks(t, b, blocks)
		if _, err := b.Commit(2, nil); err != nil {
			t.Fatal(err)
		}
		if s.cache.used > s.cache.max {
			t.Fatalf("%s: cache holds %d bytes, more than its %d", tc.name, s.cache.used, s.cache.max)
		}
		before := s.Stats()
		commitBlock(t, s, genBlocks(44, 1, 500, 5000)[0], 3)
		reads := s.Stats().BucketReads - before.BucketReads
		hits := s.Stats().BucketHits - before.BucketHits
		switch {
		case tc.name == "all" && (reads != 0 || hits == 0):
			t.Fatalf("after a bulk load into a cache that holds it all: %d bucket reads from Badger, %d hits; want 0 reads", reads, hits)
		case tc.name == "small" && reads == 0:
			t.Fatalf("a 16 KiB cache served every bucket (%d hits)", hits)
		}
	}
}
