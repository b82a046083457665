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
	"github.com/mykeyledger/mykey/app/proof"
	"github.com/pokt-network/smt"
	"github.com/pokt-network/smt/kvstore/simplemap"
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
// commitAll commits blocks to s at heights 1, 2, ... and returns the
// model of what they leave.
func commitAll(t testing.TB, s *Store, blocks []block) model {
	t.Helper()
	m := model{}
	for i, blk := range blocks {
		commitBlock(t, s, blk, int64(i+1))
		m.apply(blk)
	}
	return m
}

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
	sum, err := proof.RootSum(s.AppHash())
	if err != nil {
		t.Fatal(err)
	}
	if sum != m.sum() {
		t.Fatalf("root sum %d, want %d", sum, m.sum())
	}
	count, err := proof.RootCount(s.AppHash())
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

// checkTrieNodes verifies the trie's storage invariant: the stored trie
// leaves are exactly the leaves of the committed records (none missing,
// none leaked, no redo entries), the in-memory trie's every node agrees
// with its children and every bucket with its leaves, and the leaves
// rebuilt from scratch give the committed root. For small stores the root
// is also recomputed with pokt-network/smt itself.
func checkTrieNodes(t testing.TB, s *Store) {
	t.Helper()
	want := map[[pathSize]byte]leaf{}
	var keys [][]byte
	var vals [][]byte
	var weights []uint64
	err := s.ExportRecords(func(key, value []byte, weight uint64) error {
		l := newLeaf(key, value, weight)
		want[l.path] = l
		if len(keys) <= 20000 {
			keys, vals, weights = append(keys, key), append(vals, value), append(weights, weight)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	sn := s.snap
	s.mu.Unlock()
	err = s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = prefixLeaf
		it := txn.NewIterator(io)
		defer it.Close()
		n := 0
		for it.Seek(prefixLeaf); it.ValidForPrefix(prefixLeaf); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			l, err := decodeLeaf(it.Item().Key(), v)
			if err != nil {
				return err
			}
			if w, ok := want[l.path]; !ok {
				return fmt.Errorf("leaked trie leaf %x", l.path)
			} else if w != l {
				return fmt.Errorf("trie leaf %x does not match its record", l.path)
			}
			n++
		}
		if n != len(want) {
			return fmt.Errorf("%d trie leaves for %d records", n, len(want))
		}
		// The in-memory trie: every node's digest from its children, every
		// bucket's from its leaves.
		c := &trieCtx{txn: txn, bucket: s.bucket}
		sc := c.newScanner()
		defer sc.close()
		var walk func(nd *rnode, depth int, prefix *[pathSize]byte) error
		walk = func(nd *rnode, depth int, prefix *[pathSize]byte) error {
			if nd.bucket() {
				ls, err := sc.leaves(nd, depth, prefix)
				if err != nil {
					return err
				}
				if len(ls) > s.bucket {
					return fmt.Errorf("bucket of %d leaves", len(ls))
				}
				return nil
			}
			if inner(&nd.left.d, &nd.right.d) != nd.d {
				return fmt.Errorf("trie node at depth %d disagrees with its children", depth)
			}
			if err := walk(nd.left, depth+1, withBit(prefix, depth, 0)); err != nil {
				return err
			}
			return walk(nd.right, depth+1, withBit(prefix, depth, 1))
		}
		var zero [pathSize]byte
		if err := walk(sn.trie, 0, &zero); err != nil {
			return err
		}
		t2, err := rebuild(txn, s.bucket, nil)
		if err != nil {
			return err
		}
		if !bytes.Equal(t2.d[:], s.AppHash()) || !bytes.Equal(sn.trie.d[:], s.AppHash()) {
			return fmt.Errorf("rebuilt root %x, in-memory root %x, committed %x", t2.d[:], sn.trie.d[:], s.AppHash())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) <= 20000 {
		if got := smtRoot(t, keys, vals, weights); !bytes.Equal(got, s.AppHash()) {
			t.Fatalf("smt gives root %x for the records, the store %x", got, s.AppHash())
		}
	}
}

// smtRoot computes the root of records with pokt-network/smt.
func smtRoot(t testing.TB, keys, vals [][]byte, weights []uint64) []byte {
	t.Helper()
	tr := smt.NewSparseMerkleSumTrie(simplemap.NewSimpleMap(), sha256.New())
	for i := range keys {
		if err := tr.Update(keys[i], trieValue(vals[i]), weights[i]); err != nil {
			t.Fatal(err)
		}
	}
	return tr.Root()
}
