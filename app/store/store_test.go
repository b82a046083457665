package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/proof"
)

func TestStageVisibility(t *testing.T) {
	s := openMem(t)
	if s.Height() != 0 || !bytes.Equal(s.AppHash(), make([]byte, RootSize)) {
		t.Fatalf("fresh store: height %d root %x", s.Height(), s.AppHash())
	}

	st := s.Stage()
	if err := st.Set([]byte("a"), []byte("1"), 5); err != nil {
		t.Fatal(err)
	}
	if err := st.Set([]byte("empty"), nil, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("staged get: %q %v", v, err)
	}
	if v, err := st.Get([]byte("empty")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("staged empty value: %v %v", v, err)
	}
	if v, err := s.Get([]byte("a")); err != nil || v != nil {
		t.Fatalf("uncommitted value visible: %q %v", v, err)
	}
	if err := s.Commit(st, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("committed get: %q %v", v, err)
	}
	if v, err := s.Get([]byte("empty")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("committed empty value must be present and empty: %v %v", v, err)
	}
	if v, err := s.Get([]byte("missing")); err != nil || v != nil {
		t.Fatalf("missing key: %q %v", v, err)
	}

	// Second block: staged overrides, committed fallback, delete.
	st = s.Stage()
	if v, err := st.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("stage must read committed value: %q %v", v, err)
	}
	if err := st.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get([]byte("a")); err != nil || v != nil {
		t.Fatalf("staged delete: %q %v", v, err)
	}
	if v, _ := s.Get([]byte("a")); string(v) != "1" {
		t.Fatalf("staged delete visible in committed state: %q", v)
	}
	if err := st.Set([]byte("b"), []byte("2"), 7); err != nil {
		t.Fatal(err)
	}
	// Values are copied: mutating the caller's buffer changes nothing.
	buf := []byte("3")
	if err := st.Set([]byte("c"), buf, 0); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'X'
	if err := s.Commit(st, 2); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get([]byte("a")); v != nil {
		t.Fatalf("deleted key still present: %q", v)
	}
	if v, _ := s.Get([]byte("c")); string(v) != "3" {
		t.Fatalf("value not copied: %q", v)
	}
	checkModel(t, s, model{
		"b":     {key: []byte("b"), value: []byte("2"), weight: 7},
		"c":     {key: []byte("c"), value: []byte("3")},
		"empty": {key: []byte("empty"), value: []byte{}},
	})

	// Invalid input.
	st = s.Stage()
	defer st.Discard()
	if err := st.Set(nil, []byte("x"), 0); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("empty key: %v", err)
	}
	if err := st.Set(make([]byte, MaxKeySize+1), []byte("x"), 0); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("long key: %v", err)
	}
	if err := st.Set([]byte("k"), make([]byte, MaxValueSize+1), 0); !errors.Is(err, ErrValueTooLarge) {
		t.Fatalf("big value: %v", err)
	}
	if err := st.Delete(nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("empty key delete: %v", err)
	}
}

func TestIterate(t *testing.T) {
	s := openMem(t)
	keys := []string{"a", "a/", "a/b", "a/c", "a/b/c", "a0", "b", "a\xff", "a/\xff\xff", "a/\x00"}
	st := s.Stage()
	for i, k := range keys {
		if err := st.Set([]byte(k), []byte(fmt.Sprint(i)), uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(st, 1); err != nil {
		t.Fatal(err)
	}
	collect := func(prefix string, limit int) []string {
		var got []string
		err := s.Iterate([]byte(prefix), func(k, v []byte) bool {
			got = append(got, string(k))
			return limit > 0 && len(got) == limit
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	cases := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"a/", 0, []string{"a/", "a/\x00", "a/b", "a/b/c", "a/c", "a/\xff\xff"}},
		{"a/b", 0, []string{"a/b", "a/b/c"}},
		{"a", 0, []string{"a", "a/", "a/\x00", "a/b", "a/b/c", "a/c", "a/\xff\xff", "a0", "a\xff"}},
		{"", 0, []string{"a", "a/", "a/\x00", "a/b", "a/b/c", "a/c", "a/\xff\xff", "a0", "a\xff", "b"}},
		{"a/", 2, []string{"a/", "a/\x00"}},
		{"c", 0, nil},
		{"a/b/c/", 0, nil},
	}
	for _, c := range cases {
		if got := collect(c.prefix, c.limit); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("Iterate(%q): got %q, want %q", c.prefix, got, c.want)
		}
	}
	// IterateFrom: startAfter is exclusive, need not exist, and may lie
	// outside the prefix.
	from := func(prefix, after string) []string {
		var got []string
		if err := s.IterateFrom([]byte(prefix), []byte(after), func(k, v []byte) bool {
			got = append(got, string(k))
			return false
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	fromCases := []struct {
		prefix, after string
		want          []string
	}{
		{"a/", "a/b", []string{"a/b/c", "a/c", "a/\xff\xff"}},
		{"a/", "a/bb", []string{"a/c", "a/\xff\xff"}},
		{"a/", "", []string{"a/", "a/\x00", "a/b", "a/b/c", "a/c", "a/\xff\xff"}},
		{"a/", "0", []string{"a/", "a/\x00", "a/b", "a/b/c", "a/c", "a/\xff\xff"}},
		{"a/", "a0", nil},
		{"", "a0", []string{"a\xff", "b"}},
	}
	for _, c := range fromCases {
		if got := from(c.prefix, c.after); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("IterateFrom(%q, %q): got %q, want %q", c.prefix, c.after, got, c.want)
		}
	}

	// Values are stripped of the weight, and reads may nest.
	err := s.Iterate([]byte("b"), func(k, v []byte) bool {
		if string(v) != "6" {
			t.Errorf("value %q", v)
		}
		if w, err := s.Get([]byte("a")); err != nil || string(w) != "0" {
			t.Errorf("nested get: %q %v", w, err)
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The root depends only on the resulting records, not on call order or on
// how often Root is called.
func TestRootOrderIndependent(t *testing.T) {
	b := genBlocks(1, 1, 2000, 800)[0]
	// Last write per key wins, so shuffle only distinct keys' final ops.
	final := map[string]change{}
	for _, c := range b {
		final[string(c.key)] = c
	}
	var ops block
	for _, c := range final {
		ops = append(ops, c)
	}
	var roots [][]byte
	for i := 0; i < 4; i++ {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		perm := rng.Perm(len(ops))
		s := openMem(t)
		// Same prior state in every store.
		commitBlock(t, s, genBlocks(2, 1, 500, 800)[0], 1)
		st := s.Stage()
		for j, p := range perm {
			c := ops[p]
			if c.del {
				_ = st.Delete(c.key)
			} else {
				_ = st.Set(c.key, c.value, c.weight)
			}
			if i%2 == 1 && j%97 == 0 { // intermediate roots must not matter
				if _, err := st.Root(); err != nil {
					t.Fatal(err)
				}
			}
		}
		root, err := st.Root()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := st.Root()
		if !bytes.Equal(root, again) {
			t.Fatal("Root not stable")
		}
		if err := s.Commit(st, 2); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	for i := range roots {
		if !bytes.Equal(roots[i], roots[0]) {
			t.Fatalf("order %d gives root %x, order 0 %x", i, roots[i], roots[0])
		}
	}
}

// Two stores fed the same blocks agree at each height (one on disk, one in
// memory), and a third store reaching the same records through a different
// history has the same root as well (the trie is canonical).
func TestRootDeterminismAcrossStores(t *testing.T) {
	blocks := genBlocks(3, 30, 300, 1000)
	a := openMem(t)
	b := openDisk(t, t.TempDir(), Options{})
	m := model{}
	for i, blk := range blocks {
		ra := commitBlock(t, a, blk, int64(i+1))
		rb := commitBlock(t, b, blk, int64(i+1))
		if !bytes.Equal(ra, rb) {
			t.Fatalf("height %d: roots differ: %x vs %x", i+1, ra, rb)
		}
		m.apply(blk)
	}
	checkModel(t, a, m)
	checkModel(t, b, m)
	checkTrieNodes(t, a)
	checkTrieNodes(t, b)

	// Same final records in one block, inserted in key order.
	c := openMem(t)
	var one block
	for _, ch := range m {
		one = append(one, ch)
	}
	rc := commitBlock(t, c, one, 1)
	if !bytes.Equal(rc, a.AppHash()) {
		t.Fatalf("history-dependent root: %x vs %x", rc, a.AppHash())
	}
}

func TestSum(t *testing.T) {
	s := openMem(t)
	m := model{}
	check := func() {
		t.Helper()
		sum, err := proof.RootSum(s.AppHash())
		if err != nil || sum != m.sum() {
			t.Fatalf("sum %d (%v), want %d", sum, err, m.sum())
		}
	}
	b1 := block{
		{key: []byte("grant/1"), value: []byte("g1"), weight: 1000},
		{key: []byte("grant/2"), value: []byte("g2"), weight: 2500},
		{key: []byte("acct/1"), value: []byte("a1")},
	}
	commitBlock(t, s, b1, 1)
	m.apply(b1)
	check()
	if m.sum() != 3500 {
		t.Fatal("model")
	}
	b2 := block{
		{key: []byte("grant/1"), value: []byte("g1'"), weight: 400}, // update
		{key: []byte("grant/2"), del: true},                         // delete
		{key: []byte("grant/3"), value: []byte("g3"), weight: 7},
		{key: []byte("nothing"), del: true}, // delete of an absent key
	}
	commitBlock(t, s, b2, 2)
	m.apply(b2)
	check()
	if m.sum() != 407 {
		t.Fatal("model")
	}
	for i, blk := range genBlocks(4, 10, 200, 300) {
		commitBlock(t, s, blk, int64(i+3))
		m.apply(blk)
		check()
	}
	checkModel(t, s, m)
}

// Deleting everything returns the empty root; a stage without changes keeps
// the committed root; single-leaf tries work.
func TestEmptyAndSingleLeaf(t *testing.T) {
	s := openMem(t)
	empty := make([]byte, RootSize)
	st := s.Stage()
	if r, err := st.Root(); err != nil || !bytes.Equal(r, empty) {
		t.Fatalf("empty stage root %x %v", r, err)
	}
	if err := st.Delete([]byte("x")); err != nil { // absent: no-op
		t.Fatal(err)
	}
	if err := s.Commit(st, 1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.AppHash(), empty) {
		t.Fatalf("root %x", s.AppHash())
	}
	r1 := commitBlock(t, s, block{{key: []byte("only"), value: []byte("v"), weight: 9}}, 2)
	if bytes.Equal(r1, empty) {
		t.Fatal("single leaf root is empty")
	}
	r2 := commitBlock(t, s, nil, 3)
	if !bytes.Equal(r1, r2) {
		t.Fatal("empty block changed the root")
	}
	commitBlock(t, s, block{{key: []byte("only"), del: true}}, 4)
	if !bytes.Equal(s.AppHash(), empty) {
		t.Fatalf("root after deleting all %x", s.AppHash())
	}
	if n := len(rawKeys(t, s, prefixLeaf)); n != 0 {
		t.Fatalf("%d trie leaves left in an empty trie", n)
	}
	checkTrieNodes(t, s)
}

func TestDiscardAndStaleStage(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	commitBlock(t, s, block{{key: []byte("k"), value: []byte("v"), weight: 1}}, 1)
	root := s.AppHash()
	before := len(rawKeys(t, s, nil))

	st := s.Stage()
	stageBlock(t, st, genBlocks(5, 1, 500, 500)[0])
	if _, err := st.Root(); err != nil {
		t.Fatal(err)
	}
	st.Discard()
	if err := st.Set([]byte("a"), []byte("b"), 0); err == nil {
		t.Fatal("discarded stage accepted a write")
	}
	if err := s.Commit(st, 2); err == nil {
		t.Fatal("discarded stage committed")
	}
	if !bytes.Equal(s.AppHash(), root) || s.Height() != 1 || len(rawKeys(t, s, nil)) != before {
		t.Fatal("discarded stage left traces")
	}

	// Stale stage: created before another commit.
	st1, st2 := s.Stage(), s.Stage()
	_ = st1.Set([]byte("a"), []byte("1"), 0)
	_ = st2.Set([]byte("b"), []byte("2"), 0)
	if err := s.Commit(st1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(st2, 3); !errors.Is(err, ErrStaleStage) {
		t.Fatalf("stale stage: %v", err)
	}
	if err := s.Commit(st1, 3); err == nil {
		t.Fatal("stage committed twice")
	}
	// Height must grow.
	st3 := s.Stage()
	if err := s.Commit(st3, 2); err == nil {
		t.Fatal("commit at an old height")
	}
	commitBlock(t, s, nil, 5)

	// Everything survives a reopen.
	want := s.AppHash()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openDisk(t, dir, Options{})
	if s2.Height() != 5 || !bytes.Equal(s2.AppHash(), want) {
		t.Fatalf("reopen: height %d root %x", s2.Height(), s2.AppHash())
	}
	if v, _ := s2.Get([]byte("a")); string(v) != "1" {
		t.Fatalf("reopen: a=%q", v)
	}
	if v, _ := s2.Get([]byte("b")); v != nil {
		t.Fatalf("reopen: stale stage's b=%q", v)
	}
	if _, err := s.Get([]byte("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed store: %v", err)
	}
}

// Many blocks in sequence, each stage importing the trie afresh from the
// committed root; values read back, and a reopen in the middle.
func TestManyBlocksReimport(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{ValueLogGCEvery: 7})
	ref := openMem(t)
	m := model{}
	blocks := genBlocks(6, 60, 150, 600)
	for i, blk := range blocks {
		h := int64(i + 1)
		r := commitBlock(t, s, blk, h)
		if rr := commitBlock(t, ref, blk, h); !bytes.Equal(r, rr) {
			t.Fatalf("height %d: root %x, reference %x", h, r, rr)
		}
		m.apply(blk)
		for _, c := range blk {
			v, err := s.Get(c.key)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := m[string(c.key)]
			if ok != (v != nil) || (ok && !bytes.Equal(v, want.value)) {
				t.Fatalf("height %d key %q: got %x, want %x", h, c.key, v, want.value)
			}
		}
		if h == 30 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openDisk(t, dir, Options{ValueLogGCEvery: 7})
			if s.Height() != h || !bytes.Equal(s.AppHash(), r) {
				t.Fatal("reopen lost state")
			}
		}
	}
	checkModel(t, s, m)
	checkTrieNodes(t, s)
	if n := len(rawKeys(t, s, prefixRedo)); n != 0 {
		t.Fatalf("%d redo keys left", n)
	}
	if err := s.RunValueLogGC(); err != nil {
		t.Fatal(err)
	}
	checkModel(t, s, m)
}

func TestExportImport(t *testing.T) {
	a := openMem(t)
	m := commitAll(t, a, genBlocks(7, 5, 300, 400))
	type rec struct {
		k, v []byte
		w    uint64
	}
	var recs []rec
	if err := a.ExportRecords(func(k, v []byte, w uint64) error {
		recs = append(recs, rec{k, v, w})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fill := func(set func(k, v []byte, w uint64) error) error {
		for i := len(recs) - 1; i >= 0; i-- { // any order
			if err := set(recs[i].k, recs[i].v, recs[i].w); err != nil {
				return err
			}
		}
		return nil
	}

	b := openDisk(t, t.TempDir(), Options{})
	bad := bytes.Clone(a.AppHash())
	bad[0] ^= 1
	if err := b.ImportRecords(5, bad, fill); err == nil {
		t.Fatal("import with a wrong root succeeded")
	}
	if b.Height() != 0 || len(rawKeys(t, b, nil)) != 0 {
		t.Fatal("failed import left traces")
	}
	if err := b.ImportRecords(5, a.AppHash(), fill); err != nil {
		t.Fatal(err)
	}
	if b.Height() != 5 || !bytes.Equal(b.AppHash(), a.AppHash()) {
		t.Fatal("import: wrong height or root")
	}
	checkModel(t, b, m)
	checkTrieNodes(t, b)
	if err := b.ImportRecords(6, nil, fill); err == nil {
		t.Fatal("import into a non-empty store")
	}
	// The imported store keeps working.
	blk := genBlocks(8, 1, 100, 400)[0]
	if !bytes.Equal(commitBlock(t, a, blk, 6), commitBlock(t, b, blk, 6)) {
		t.Fatal("roots diverge after import")
	}
}

// A block far beyond Badger's transaction limit commits (through the redo
// log) and survives a reopen.
func TestBigBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("big block")
	}
	const n = 200_000
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	st := s.Stage()
	var sum uint64
	for i := 0; i < n; i++ {
		w := uint64(i % 1000)
		sum += w
		if err := st.Set(testKey(i), testValue(i, 0, 200), w); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(st, 1); err != nil {
		t.Fatalf("big block: %v", err)
	}
	root := s.AppHash()
	if got, _ := proof.RootCount(root); got != n {
		t.Fatalf("count %d", got)
	}
	if got, _ := proof.RootSum(root); got != sum {
		t.Fatalf("sum %d, want %d", got, sum)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{})
	if s.Height() != 1 || !bytes.Equal(s.AppHash(), root) {
		t.Fatal("reopen")
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		v, err := s.Get(testKey(i))
		if err != nil || !bytes.Equal(v, testValue(i, 0, 200)) {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	cnt := 0
	if err := s.Iterate([]byte("acct/"), func(k, v []byte) bool { cnt++; return false }); err != nil || cnt != n {
		t.Fatalf("iterate: %d %v", cnt, err)
	}
	// And a second big block of updates/deletes on top.
	st = s.Stage()
	for i := 0; i < n; i += 2 {
		if i%4 == 0 {
			_ = st.Delete(testKey(i))
		} else {
			_ = st.Set(testKey(i), testValue(i, 1, 200), 1)
		}
	}
	if err := s.Commit(st, 2); err != nil {
		t.Fatal(err)
	}
	if got, _ := proof.RootCount(s.AppHash()); got != n-n/4 {
		t.Fatalf("count after second block %d", got)
	}
	checkTrieNodes(t, s)
}

// Readers running during commits never see a half-applied block, and
// proofs made concurrently verify against the root they were made for.
func TestConcurrentReads(t *testing.T) {
	s := openDisk(t, t.TempDir(), Options{RedoChunkSize: 4 << 10})
	const keys = 300
	blockOf := func(h int) block {
		var b block
		for i := 0; i < keys; i++ {
			b = append(b, change{key: testKey(i), value: []byte(fmt.Sprint(h)), weight: uint64(h)})
		}
		return b
	}
	commitBlock(t, s, blockOf(1), 1)
	// Pause in the middle of each apply, so that a half-applied block is
	// in Badger for a while.
	testHook = func(p string) error {
		if p == hookMidApply {
			time.Sleep(3 * time.Millisecond)
		}
		return nil
	}
	defer func() { testHook = nil }()
	var mu sync.Mutex
	roots := map[string]bool{string(s.AppHash()): true}

	done := make(chan struct{})
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-done:
					errc <- nil
					return
				default:
				}
				switch r {
				case 0: // one Iterate sees one block
					var first string
					var mixed error
					err := s.Iterate([]byte("acct/"), func(k, v []byte) bool {
						if first == "" {
							first = string(v)
						} else if string(v) != first {
							mixed = fmt.Errorf("mixed blocks in one iteration: %s and %s", first, v)
							return true
						}
						return false
					})
					if err == nil {
						err = mixed
					}
					if err != nil {
						errc <- err
						return
					}
				case 3: // reads in one View belong to the View's block
					err := s.View(func(v *View) error {
						want := fmt.Sprint(v.Height())
						for _, i := range []int{0, keys - 1, keys / 2} {
							got, err := v.Get(testKey(i))
							if err != nil {
								return err
							}
							if string(got) != want {
								return fmt.Errorf("view at height %s read %s", want, got)
							}
							time.Sleep(100 * time.Microsecond)
						}
						return nil
					})
					if err != nil {
						errc <- err
						return
					}
				case 1, 2: // proofs verify against their own root, a committed one
					v, _, ops, err := s.Prove(testKey(n % keys))
					if err != nil {
						errc <- err
						return
					}
					op, err := proof.Decode(ops.Ops[0])
					if err != nil {
						errc <- err
						return
					}
					if err := proof.VerifyValue(op.Root, testKey(n%keys), v, ops); err != nil {
						errc <- err
						return
					}
					mu.Lock()
					ok := roots[string(op.Root)]
					mu.Unlock()
					if !ok {
						errc <- fmt.Errorf("proof against uncommitted root %x", op.Root)
						return
					}
				}
			}
		}(r)
	}
	for h := 2; h <= 25; h++ {
		st := s.Stage()
		stageBlock(t, st, blockOf(h))
		root, err := st.Root()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		roots[string(root)] = true // before the commit makes it visible
		mu.Unlock()
		if err := s.Commit(st, int64(h)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	for i := 0; i < 4; i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
