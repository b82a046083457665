package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// change is one staged operation.
type change struct {
	key    []byte
	value  []byte
	weight uint64
	del    bool
}

type block []change

func testKey(i int) []byte { return []byte(fmt.Sprintf("acct/%08d", i)) }

// testValue returns a deterministic value of n bytes for (i, ver).
func testValue(i, ver, n int) []byte {
	var seed [16]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	binary.BigEndian.PutUint64(seed[8:], uint64(ver))
	out := make([]byte, 0, n+sha256.Size)
	h := sha256.Sum256(seed[:])
	for len(out) < n {
		out = append(out, h[:]...)
		h = sha256.Sum256(h[:])
	}
	return out[:n]
}

// genBlocks returns deterministic blocks of size changes over keyspace
// keys: about 70 % sets (new values, weights), 30 % deletes.
func genBlocks(seed uint64, n, size, keyspace int) []block {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	blocks := make([]block, n)
	ver := 0
	for b := range blocks {
		for j := 0; j < size; j++ {
			i := rng.IntN(keyspace)
			ver++
			if rng.IntN(10) < 3 {
				blocks[b] = append(blocks[b], change{key: testKey(i), del: true})
			} else {
				blocks[b] = append(blocks[b], change{
					key:    testKey(i),
					value:  testValue(i, ver, 20+rng.IntN(200)),
					weight: uint64(rng.IntN(3)) * uint64(rng.IntN(100000)),
				})
			}
		}
	}
	return blocks
}

// model is the expected committed state.
type model map[string]change

func (m model) apply(b block) {
	for _, c := range b {
		if c.del {
			delete(m, string(c.key))
		} else {
			m[string(c.key)] = c
		}
	}
}

func (m model) clone() model {
	out := make(model, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (m model) sum() uint64 {
	var s uint64
	for _, c := range m {
		s += c.weight
	}
	return s
}

func openMem(t testing.TB) *Store {
	t.Helper()
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openDisk(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func stageBlock(t testing.TB, st *Stage, b block) {
	t.Helper()
	for _, c := range b {
		var err error
		if c.del {
			err = st.Delete(c.key)
		} else {
			err = st.Set(c.key, c.value, c.weight)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// commitBlock stages b, commits it at height h and returns the root.
func commitBlock(t testing.TB, s *Store, b block, h int64) []byte {
	t.Helper()
	st := s.Stage()
	stageBlock(t, st, b)
	root, err := st.Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(st, h); err != nil {
		t.Fatalf("commit %d: %v", h, err)
	}
	if got := s.AppHash(); !bytes.Equal(got, root) {
		t.Fatalf("AppHash %x after commit, stage root %x", got, root)
	}
	if s.Height() != h {
		t.Fatalf("height %d, want %d", s.Height(), h)
	}
	return root
}

// checkModel verifies that the committed records equal m exactly.
func checkModel(t testing.TB, s *Store, m model) {
	t.Helper()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	i := 0
	err := s.ExportRecords(func(key, value []byte, weight uint64) error {
		if i >= len(keys) {
			return fmt.Errorf("extra record %q", key)
		}
		want := m[keys[i]]
		if string(key) != keys[i] || !bytes.Equal(value, want.value) || weight != want.weight {
			return fmt.Errorf("record %d: got %q=%x/%d, want %q=%x/%d", i, key, value, weight, keys[i], want.value, want.weight)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != len(keys) {
		t.Fatalf("got %d records, want %d", i, len(keys))
	}
	sum, err := RootSum(s.AppHash())
	if err != nil {
		t.Fatal(err)
	}
	if sum != m.sum() {
		t.Fatalf("root sum %d, want %d", sum, m.sum())
	}
	count, err := RootCount(s.AppHash())
	if err != nil {
		t.Fatal(err)
	}
	if count != uint64(len(m)) {
		t.Fatalf("root count %d, want %d", count, len(m))
	}
}

// rawKeys lists the Badger keys with prefix.
func rawKeys(t testing.TB, s *Store, prefix []byte) [][]byte {
	t.Helper()
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = prefix
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// checkTrieNodes verifies that the stored trie nodes are exactly the nodes
// reachable from the committed root: none missing, none leaked.
func checkTrieNodes(t testing.TB, s *Store) {
	t.Helper()
	stored := map[string]bool{}
	nodes := map[string][]byte{} // read straight from Badger, not the cache
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = prefixNode
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(prefixNode); it.ValidForPrefix(prefixNode); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			d := string(it.Item().Key()[len(prefixNode):])
			stored[d], nodes[d] = false, v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, RootSize)
	var walk func(d []byte)
	walk = func(d []byte) {
		if bytes.Equal(d, zero) {
			return
		}
		seen, ok := stored[string(d)]
		if !ok {
			t.Fatalf("trie node %x missing", d)
		}
		if seen {
			t.Fatalf("trie node %x reached twice", d)
		}
		stored[string(d)] = true
		n := nodes[string(d)]
		switch n[0] {
		case 0: // leaf: prefix, path, value hash, sum, count
			if len(n) != leafDataSize {
				t.Fatalf("leaf of %d bytes", len(n))
			}
		case 1: // inner: prefix, left, right, sum, count
			if len(n) != 1+2*RootSize+16 {
				t.Fatalf("inner node of %d bytes", len(n))
			}
			walk(n[1 : 1+RootSize])
			walk(n[1+RootSize : 1+2*RootSize])
		case 2: // extension: prefix, bounds, path, child, sum, count
			if len(n) != 1+2+digestSize+RootSize+16 {
				t.Fatalf("extension node of %d bytes", len(n))
			}
			walk(n[3+digestSize : 3+digestSize+RootSize])
		default:
			t.Fatalf("node %x of unknown kind %d", d, n[0])
		}
	}
	walk(s.AppHash())
	for d, seen := range stored {
		if !seen {
			t.Fatalf("leaked trie node %x", d)
		}
	}
}
