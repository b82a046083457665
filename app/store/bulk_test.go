package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// bulkLoadBlocks loads blocks through b, with a Flush after each block (so
// the records make several runs, later ones overwriting and deleting
// earlier ones' keys).
func bulkLoadBlocks(t *testing.T, b *Bulk, blocks []block) {
	t.Helper()
	for _, blk := range blocks {
		for _, c := range blk {
			var err error
			if c.del {
				err = b.Delete(c.key)
			} else {
				err = b.Set(c.key, c.value, c.weight)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkGets reads every record of m, and a few absent keys, with Get
// (Badger's point reads, which ExportRecords' iteration does not use).
func checkGets(t *testing.T, s *Store, m model) {
	t.Helper()
	for k, r := range m {
		v, err := s.Get([]byte(k))
		if err != nil || !bytes.Equal(v, r.value) {
			t.Fatalf("Get(%q) = %x, %v; want %x", k, v, err, r.value)
		}
	}
	for i := 0; i < 100; i++ {
		k := []byte(fmt.Sprintf("absent/%d", i))
		if v, err := s.Get(k); v != nil || err != nil {
			t.Fatalf("Get(%q) = %x, %v; want absent", k, v, err)
		}
	}
}

// lastLevelTables is how many tables Badger's last level holds: a
// StreamWriter writes there, write batches go to the memtable (and a small
// load never leaves it).
func lastLevelTables(s *Store) int {
	levels := s.db.Levels()
	return levels[len(levels)-1].NumTables
}

// A bulk load into an empty store writes its leaves and records with the
// StreamWriter (tables in the last level, nothing in the memtable), on
// disk and in memory, and gives the same records, leaves and root as
// blocks; on disk they survive a reopen.
func TestBulkLoadStreams(t *testing.T) {
	old := leafPartsMemory
	leafPartsMemory = 500
	defer func() { leafPartsMemory = old }()
	blocks := genBlocks(51, 4, 3000, 5000)
	ref := openMem(t)
	m := commitAll(t, ref, blocks)
	for _, inMemory := range []bool{false, true} {
		dir := ""
		if !inMemory {
			dir = t.TempDir()
		}
		s, err := Open(dir, Options{InMemory: inMemory})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Bulk(nil)
		if err != nil {
			t.Fatal(err)
		}
		bulkLoadBlocks(t, b, blocks)
		if err := b.wait(); err != nil { // the last run written
			t.Fatal(err)
		}
		if len(b.runs) != len(blocks) {
			t.Fatalf("in memory %v: %d record runs, want %d", inMemory, len(b.runs), len(blocks))
		}
		root, err := b.Commit(4, ref.AppHash())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, ref.AppHash()) || s.Height() != 4 {
			t.Fatalf("in memory %v: bulk root or height", inMemory)
		}
		if n := lastLevelTables(s); n == 0 {
			t.Fatalf("in memory %v: no table in Badger's last level: the load did not go through the StreamWriter", inMemory)
		}
		if n := s.db.Levels()[0].NumTables; n != 0 {
			t.Fatalf("in memory %v: %d tables in L0 after a streamed load", inMemory, n)
		}
		if !inMemory {
			if matches, _ := filepath.Glob(filepath.Join(dir, bulkTempPrefix+"*")); len(matches) != 0 {
				t.Fatal("temporary files left")
			}
		}
		checkModel(t, s, m)
		checkGets(t, s, m)
		checkTrieNodes(t, s)
		if inMemory {
			s.Close()
			continue
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openDisk(t, dir, Options{})
		if !bytes.Equal(s.AppHash(), ref.AppHash()) || s.Height() != 4 {
			t.Fatal("root or height changed by a reopen")
		}
		checkModel(t, s, m)
		checkGets(t, s, m)
		checkTrieNodes(t, s)
		// It carries on like any store.
		blk := genBlocks(52, 1, 500, 5000)[0]
		want := commitBlock(t, ref, blk, 5)
		if !bytes.Equal(commitBlock(t, s, blk, 5), want) {
			t.Fatal("roots diverge after a streamed bulk load")
		}
		ref = openMem(t)
		commitAll(t, ref, blocks)
	}
}

// A store at height 0 that holds anything in Badger is not streamed into
// (the StreamWriter would drop it): the load goes through write batches
// and what was there stays.
func TestBulkLoadFallsBackToBatches(t *testing.T) {
	blocks := genBlocks(53, 2, 2000, 4000)
	ref := openMem(t)
	m := commitAll(t, ref, blocks)
	s := openDisk(t, t.TempDir(), Options{})
	stray := []byte("x/stray")
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(stray, []byte("kept")) }); err != nil {
		t.Fatal(err)
	}
	b, err := s.Bulk(nil)
	if err != nil {
		t.Fatal(err)
	}
	bulkLoadBlocks(t, b, blocks)
	if _, err := b.Commit(2, ref.AppHash()); err != nil {
		t.Fatal(err)
	}
	if lastLevelTables(s) != 0 {
		t.Fatal("a load into a non-empty Badger went through the StreamWriter")
	}
	if len(rawKeys(t, s, stray)) != 1 {
		t.Fatal("the key that was in Badger before the load is gone")
	}
	checkModel(t, s, m)
	checkTrieNodes(t, s)
}

// A crash after the StreamWriter's Flush but before m/height leaves
// records and leaves in Badger without a committed height: Open removes
// them, and a new bulk load then succeeds.
func TestBulkCrashAfterStreamFlush(t *testing.T) {
	blocks := genBlocks(54, 2, 2000, 4000)
	ref := openMem(t)
	m := commitAll(t, ref, blocks)
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Bulk(nil)
	if err != nil {
		t.Fatal(err)
	}
	bulkLoadBlocks(t, b, blocks)
	crash := errors.New("crash")
	testHook = func(p string) error {
		if p == hookBulkWritten {
			return crash
		}
		return nil
	}
	_, err = b.Commit(2, nil)
	testHook = nil
	if !errors.Is(err, crash) {
		t.Fatalf("Commit: %v, want the crash", err)
	}
	if len(rawKeys(t, s, prefixRecord)) == 0 || len(rawKeys(t, s, prefixLeaf)) == 0 || lastLevelTables(s) == 0 {
		t.Fatal("the crash point is not after the records and leaves were streamed")
	}
	if s.Height() != 0 {
		t.Fatalf("height %d after a crash before m/height", s.Height())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{})
	if s.Height() != 0 || !bytes.Equal(s.AppHash(), emptyRoot()) {
		t.Fatalf("reopened at height %d, root %x: want an empty store", s.Height(), s.AppHash())
	}
	if n := len(rawKeys(t, s, prefixRecord)) + len(rawKeys(t, s, prefixLeaf)); n != 0 {
		t.Fatalf("%d records and leaves of the crashed load left", n)
	}
	b, err = s.Bulk(nil)
	if err != nil {
		t.Fatal(err)
	}
	bulkLoadBlocks(t, b, blocks)
	if _, err := b.Commit(2, ref.AppHash()); err != nil {
		t.Fatal(err)
	}
	checkModel(t, s, m)
	checkGets(t, s, m)
	checkTrieNodes(t, s)
}

// A reader that holds a new store's first snapshot (read timestamp 0)
// through a bulk load's Commit keeps it from streaming: the StreamWriter
// would restart Badger's timestamps past that reader's, which Badger does
// not survive when the reader ends. The load goes through write batches.
func TestBulkLoadWithAnOldReader(t *testing.T) {
	blocks := genBlocks(55, 1, 2000, 4000)
	ref := openMem(t)
	m := commitAll(t, ref, blocks)
	s := openDisk(t, t.TempDir(), Options{})
	sn, err := s.acquire()
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Bulk(nil)
	if err != nil {
		t.Fatal(err)
	}
	bulkLoadBlocks(t, b, blocks)
	if _, err := b.Commit(1, ref.AppHash()); err != nil {
		t.Fatal(err)
	}
	if lastLevelTables(s) != 0 {
		t.Fatal("streamed while a reader held a snapshot at an older timestamp")
	}
	s.release(sn) // ends the old transaction
	checkModel(t, s, m)
	checkGets(t, s, m)
	checkTrieNodes(t, s)
}
