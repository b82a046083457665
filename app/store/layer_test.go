package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
)

// layerShape is the encoded bucket layer of s's committed trie: equal
// shapes mean equal buckets (depth and digest) in the same order.
func layerShape(s *Store) []byte {
	s.mu.Lock()
	t := s.snap.trie
	s.mu.Unlock()
	chunks, _ := encodeLayer(t, 1<<30)
	return bytes.Join(chunks, nil)
}

// proofOf returns the encoded value, weight and proof of key.
func proofOf(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	v, w, ops, err := s.Prove(key)
	if err != nil {
		t.Fatalf("prove %q: %v", key, err)
	}
	raw, err := ops.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := binary.BigEndian.AppendUint64(nil, w)
	out = binary.AppendUvarint(out, uint64(len(v)))
	out = append(out, v...)
	return append(out, raw...)
}

// sameProofs checks that a and b give the same values and proofs for the
// keys 0..keyspace-1 (present and absent ones alike).
func sameProofs(t *testing.T, a, b *Store, keyspace int) {
	t.Helper()
	if !bytes.Equal(a.AppHash(), b.AppHash()) || a.Height() != b.Height() {
		t.Fatalf("height %d root %x, other store height %d root %x", a.Height(), a.AppHash(), b.Height(), b.AppHash())
	}
	for i := 0; i < keyspace; i += 7 {
		if pa, pb := proofOf(t, a, testKey(i)), proofOf(t, b, testKey(i)); !bytes.Equal(pa, pb) {
			t.Fatalf("key %d: the proofs differ", i)
		}
	}
}

// reopenFrom reopens the store in dir and checks which way Open built the
// trie: from the saved layer or from the leaves.
func reopenFrom(t *testing.T, dir string, opts Options, fromLayer bool) *Store {
	t.Helper()
	s := openDisk(t, dir, opts)
	if s.trieFromLayer != fromLayer {
		t.Fatalf("Open built the trie from the saved layer: %v, want %v (layer not used because: %v)", s.trieFromLayer, fromLayer, s.layerMiss)
	}
	return s
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A store reopened through the saved layer has the trie it was closed
// with, and gives the same roots and proofs, now and after more blocks, as
// one rebuilt from the leaves.
func TestReopenFromLayer(t *testing.T) {
	const keyspace = 6000
	blocks := genBlocks(51, 6, 2000, keyspace)
	more := genBlocks(52, 3, 1500, keyspace)
	for _, tc := range []struct {
		name   string
		bucket int
		chunk  int
	}{
		{"bucket1", 1, 0},
		{"bucket8/small-chunks", 8, 600},
		{"bucket32", 32, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{BucketSize: tc.bucket}
			dirA, dirB := t.TempDir(), t.TempDir()
			a, b := openDisk(t, dirA, opts), openDisk(t, dirB, opts)
			m := commitAll(t, a, blocks)
			commitAll(t, b, blocks)
			shape := layerShape(a)
			if tc.chunk > 0 {
				a.layerChunk = tc.chunk
			}
			b.noSaveLayer = true
			closeStore(t, a)
			closeStore(t, b)

			a = reopenFrom(t, dirA, opts, true)
			if tc.chunk > 0 {
				if n := len(rawKeys(t, a, prefixLayer)); n < 3 {
					t.Fatalf("%d layer keys, want a header and several chunks", n)
				}
			}
			b = reopenFrom(t, dirB, opts, false)
			if b.layerMiss != nil {
				t.Fatalf("no layer saved, but Open reports %v", b.layerMiss)
			}
			if !bytes.Equal(layerShape(a), shape) {
				t.Fatal("the trie read from the saved layer differs from the one saved")
			}
			checkModel(t, a, m)
			checkTrieNodes(t, a)
			sameProofs(t, a, b, keyspace)

			ref := openMem(t)
			commitAll(t, ref, blocks)
			for i, blk := range more {
				h := int64(len(blocks) + i + 1)
				ra, rb, rr := commitBlock(t, a, blk, h), commitBlock(t, b, blk, h), commitBlock(t, ref, blk, h)
				if !bytes.Equal(ra, rb) || !bytes.Equal(ra, rr) {
					t.Fatalf("height %d: roots %x (layer), %x (leaves), %x (reference)", h, ra, rb, rr)
				}
				m.apply(blk)
				if i == 0 {
					if n := len(rawKeys(t, a, prefixLayer)); n != 0 {
						t.Fatalf("%d layer keys left after the first commit", n)
					}
				}
			}
			checkModel(t, a, m)
			checkTrieNodes(t, a)
			sameProofs(t, a, b, keyspace)

			// Saved again at Close, used again by Open; a Close without a
			// commit keeps the layer as it is.
			shape = layerShape(a)
			closeStore(t, a)
			a = reopenFrom(t, dirA, opts, true)
			closeStore(t, a)
			a = reopenFrom(t, dirA, opts, true)
			if !bytes.Equal(layerShape(a), shape) {
				t.Fatal("the trie read from the saved layer differs from the one saved")
			}
			sameProofs(t, a, b, keyspace)
		})
	}
}

// A layer saved before a block that committed but whose store then
// crashed (no Close) is stale: Open ignores it, deletes it and rebuilds
// from the leaves.
func TestReopenStaleLayer(t *testing.T) {
	dir := t.TempDir()
	blocks := genBlocks(61, 4, 1500, 4000)
	s := openDisk(t, dir, Options{})
	m := commitAll(t, s, blocks[:3])
	closeStore(t, s)

	s = reopenFrom(t, dir, Options{}, true)
	crashAt(t, hookAfterTxn, 1) // block 4 is durable, then the process "dies"
	st := s.Stage()
	stageBlock(t, st, blocks[3])
	root4, err := st.Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(st, 4); !errors.Is(err, errCrash) {
		t.Fatalf("commit: %v, want simulated crash", err)
	}
	testHook = nil
	m.apply(blocks[3])
	if n := len(rawKeys(t, s, prefixLayer)); n == 0 {
		t.Fatal("the layer of height 3 is gone: the test needs it stale on disk")
	}
	closeStore(t, s) // a store whose commit failed saves no layer

	s = reopenFrom(t, dir, Options{}, false)
	if s.layerMiss == nil || !strings.Contains(s.layerMiss.Error(), "stale") {
		t.Fatalf("layer not used because %v, want stale", s.layerMiss)
	}
	if s.Height() != 4 || !bytes.Equal(s.AppHash(), root4) {
		t.Fatalf("height %d root %x, want 4 %x", s.Height(), s.AppHash(), root4)
	}
	if n := len(rawKeys(t, s, prefixLayer)); n != 0 {
		t.Fatalf("%d keys of the stale layer left after Open", n)
	}
	checkModel(t, s, m)
	checkTrieNodes(t, s)
}

// fixSums says which checksums rewriteLayer recomputes after an edit.
type fixSums int

const (
	fixNone   fixSums = iota
	fixChunks         // each chunk's own checksum
	fixAll            // ... and the header's
)

// rewriteLayer changes the saved layer of the closed store in dir: edit
// gets the header and chunks and changes them in place, then fix says
// which checksums are recomputed.
func rewriteLayer(t *testing.T, dir string, edit func(h *layerHeader, headerRaw []byte, chunks [][]byte) (newHeader []byte, drop []int), fix fixSums) {
	t.Helper()
	s := reopenFrom(t, dir, Options{BucketSize: 4}, true)
	defer closeStore(t, s) // the layer is current: Close leaves it alone
	err := s.db.Update(func(txn *badger.Txn) error {
		raw, err := getValue(txn, keyLayerHeader)
		if err != nil {
			return err
		}
		h, err := decodeLayerHeader(raw)
		if err != nil {
			return err
		}
		chunks := make([][]byte, h.chunks)
		for i := range chunks {
			if chunks[i], err = getValue(txn, layerChunkKey(i)); err != nil {
				return err
			}
		}
		newHeader, drop := edit(&h, raw, chunks)
		if fix >= fixChunks {
			xx := xxhash.New()
			for _, c := range chunks {
				n := len(c) - 8
				binary.BigEndian.PutUint64(c[n:], xxhash.Sum64(c[:n]))
				_, _ = xx.Write(c)
			}
			if fix == fixAll {
				h.sum = xx.Sum64()
				newHeader = h.encode()
			}
		}
		for i, c := range chunks {
			if err := txn.Set(layerChunkKey(i), c); err != nil {
				return err
			}
		}
		for _, i := range drop {
			if err := txn.Delete(layerChunkKey(i)); err != nil {
				return err
			}
		}
		return txn.Set(keyLayerHeader, newHeader)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A corrupt saved layer is detected and ignored: Open rebuilds from the
// leaves and deletes it.
func TestReopenCorruptLayer(t *testing.T) {
	blocks := genBlocks(71, 3, 2000, 5000)
	ref := openMem(t)
	m := commitAll(t, ref, blocks)
	for _, tc := range []struct {
		name string
		fix  fixSums // checksums recomputed after the edit
		want string  // in the reason Open gives
		edit func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int)
	}{
		{"chunk-byte", fixNone, "chunk 1 checksum", func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int) {
			c := chunks[1]
			c[len(c)/2] ^= 0x10 // inside some bucket's hash, most likely
			return raw, nil
		}},
		{"header-byte", fixNone, "header checksum", func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int) {
			raw[20] ^= 1
			return raw, nil
		}},
		{"chunk-of-another-layer", fixChunks, "does not match the header", func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int) {
			c := chunks[0]
			c[len(c)-9] ^= 1 // the last byte of the chunk's entries: a sum
			return raw, nil
		}},
		{"missing-chunk", fixNone, "missing", func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int) {
			return raw, []int{len(chunks) - 1}
		}},
		{"digest-with-checksums", fixAll, "root", func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int) {
			// The first non-empty bucket's hash: past its depth and count.
			c := chunks[0]
			for p := 0; ; {
				_, n := binary.Uvarint(c[p:])
				cnt, k := binary.Uvarint(c[p+n:])
				p += n + k
				if cnt > 0 {
					c[p] ^= 0x80
					break
				}
			}
			return nil, nil
		}},
		{"shape-with-checksums", fixAll, "", func(h *layerHeader, raw []byte, chunks [][]byte) ([]byte, []int) {
			c := chunks[0]
			c[0]++ // the first bucket one level deeper
			return nil, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDisk(t, dir, Options{BucketSize: 4})
			commitAll(t, s, blocks)
			s.layerChunk = 4096
			closeStore(t, s)
			rewriteLayer(t, dir, tc.edit, tc.fix)

			s = reopenFrom(t, dir, Options{BucketSize: 4}, false)
			if s.layerMiss == nil || !strings.Contains(s.layerMiss.Error(), tc.want) {
				t.Fatalf("layer not used because %v, want a reason with %q", s.layerMiss, tc.want)
			}
			if !bytes.Equal(s.AppHash(), ref.AppHash()) {
				t.Fatalf("root %x, want %x", s.AppHash(), ref.AppHash())
			}
			if n := len(rawKeys(t, s, prefixLayer)); n != 0 {
				t.Fatalf("%d keys of the corrupt layer left after Open", n)
			}
			checkModel(t, s, m)
			checkTrieNodes(t, s)
			sameProofs(t, s, ref, 5000)
		})
	}
}

// A layer saved with another BucketSize is not used; the store then works
// with the new bucket size and saves a layer of it.
func TestReopenBucketSizeChanged(t *testing.T) {
	const keyspace = 5000
	blocks := genBlocks(81, 4, 2000, keyspace)
	ref := openMem(t)
	m := commitAll(t, ref, blocks[:3])
	dir := t.TempDir()
	s := openDisk(t, dir, Options{BucketSize: 4})
	commitAll(t, s, blocks[:3])
	closeStore(t, s)

	s = reopenFrom(t, dir, Options{BucketSize: 16}, false)
	if s.layerMiss == nil || !strings.Contains(s.layerMiss.Error(), "bucket size 4") {
		t.Fatalf("layer not used because %v, want the bucket size", s.layerMiss)
	}
	checkTrieNodes(t, s) // buckets of at most 16 leaves
	sameProofs(t, s, ref, keyspace)
	commitBlock(t, s, blocks[3], 4)
	commitBlock(t, ref, blocks[3], 4)
	m.apply(blocks[3])
	checkModel(t, s, m)
	sameProofs(t, s, ref, keyspace)
	closeStore(t, s)

	s = reopenFrom(t, dir, Options{BucketSize: 16}, true)
	checkTrieNodes(t, s)
	sameProofs(t, s, ref, keyspace)
	closeStore(t, s)
	s = reopenFrom(t, dir, Options{BucketSize: 4}, false)
	checkTrieNodes(t, s)
	sameProofs(t, s, ref, keyspace)
}

// An empty store (height 0) saves no layer: there is nothing to rebuild.
func TestNoLayerWhenNothingToSave(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	closeStore(t, s)
	s = reopenFrom(t, dir, Options{}, false)
	if n := len(rawKeys(t, s, prefixLayer)); n != 0 || s.layerMiss != nil {
		t.Fatalf("empty store: %d layer keys, reason %v", n, s.layerMiss)
	}
}

// Reopened, a store's bucket cache is as warm as the cache allows: a
// rebuild from the leaves fills it while it reads them, and an Open
// through the saved layer fills it in the background with WarmCache. A
// block after that reads no bucket from Badger.
func TestReopenWarmsTheCache(t *testing.T) {
	blocks := genBlocks(51, 3, 2000, 4000)
	next := genBlocks(52, 1, 300, 4000)[0]
	for _, tc := range []struct {
		name       string
		layer      bool
		warm       bool
		wantReads  bool
		wantWarmed bool
	}{
		{"rebuild", false, false, false, false},
		{"layer, warmed", true, true, false, true},
		{"layer, cold", true, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDisk(t, dir, Options{})
			for i, blk := range blocks {
				commitBlock(t, s, blk, int64(i+1))
			}
			s.noSaveLayer = !tc.layer
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openDisk(t, dir, Options{CacheSize: 64 << 20, WarmCache: tc.warm})
			if s.trieFromLayer != tc.layer {
				t.Fatalf("trie from the layer: %v, want %v", s.trieFromLayer, tc.layer)
			}
			if s.warmDone != nil {
				<-s.warmDone
			}
			if s.warmed.Load() != tc.wantWarmed {
				t.Fatalf("warmed: %v, want %v", s.warmed.Load(), tc.wantWarmed)
			}
			before := s.Stats()
			commitBlock(t, s, next, int64(len(blocks)+1))
			if reads := s.Stats().BucketReads - before.BucketReads; (reads > 0) != tc.wantReads {
				t.Fatalf("%d bucket reads from Badger in the block after Open; want some: %v", reads, tc.wantReads)
			}
		})
	}
}

// Close stops a warm-up under way and waits for it.
func TestCloseStopsTheWarmUp(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	for i, blk := range genBlocks(53, 2, 3000, 6000) {
		commitBlock(t, s, blk, int64(i+1))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{WarmCache: true})
	if s.warmStop == nil {
		t.Fatal("no warm-up started after an Open through the layer")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.warmDone:
	default:
		t.Fatal("Close returned while the warm-up ran")
	}
}
