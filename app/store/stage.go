package store

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/mykeyledger/mykey/app/proof"
)

// Stage is the working set of one block over the committed state. It is
// not safe for concurrent use. Commit it with Store.Commit or drop it with
// Discard; a stage that is simply abandoned leaves no trace either.
type Stage struct {
	s    *Store
	base *snapshot // the committed block this stage builds on
	err  error     // sticky: set when the stage is unusable

	recs    map[string]*stagedRecord // every key set or deleted in this stage
	pending map[string]struct{}      // keys changed since the last Root
	leaves  map[[pathSize]byte]lchange
	trie    *rnode            // the upper trie after the last Root
	owned   map[*rnode][]leaf // leaves of the buckets this stage made
	root    []byte            // root after the last Root call
}

type stagedRecord struct {
	value   []byte
	weight  uint64
	deleted bool
}

// Stage returns a new working set over the committed state. Stages are
// independent; only one of the stages created between two commits can be
// committed, and the trie of a stage can only be computed (Root) while no
// other stage has been committed since it was created.
func (s *Store) Stage() *Stage {
	s.mu.Lock()
	st := &Stage{
		s:       s,
		base:    s.snap,
		recs:    make(map[string]*stagedRecord),
		pending: make(map[string]struct{}),
		leaves:  make(map[[pathSize]byte]lchange),
		owned:   make(map[*rnode][]leaf),
		trie:    s.snap.trie,
		root:    bytes.Clone(s.snap.root),
	}
	switch {
	case s.closed:
		st.err = ErrClosed
	case s.failed != nil:
		st.err = s.failed
	}
	s.mu.Unlock()
	return st
}

// Get returns the staged value of key if it was set or deleted in this
// stage, else the committed value; (nil, nil) if absent.
func (st *Stage) Get(key []byte) ([]byte, error) {
	if st.err != nil {
		return nil, st.err
	}
	if r, ok := st.recs[string(key)]; ok {
		if r.deleted {
			return nil, nil
		}
		return bytes.Clone(r.value), nil
	}
	return st.s.Get(key)
}

// Set stages key = value with the given weight. value may be empty (but is
// then still a present record).
func (st *Stage) Set(key, value []byte, weight uint64) error {
	if st.err != nil {
		return st.err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes for %q", ErrValueTooLarge, len(value), key)
	}
	v := make([]byte, len(value)) // non-nil even when empty
	copy(v, value)
	st.recs[string(key)] = &stagedRecord{value: v, weight: weight}
	st.pending[string(key)] = struct{}{}
	return nil
}

// Delete stages the removal of key (a no-op for the root if it is absent).
func (st *Stage) Delete(key []byte) error {
	if st.err != nil {
		return st.err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	st.recs[string(key)] = &stagedRecord{deleted: true}
	st.pending[string(key)] = struct{}{}
	return nil
}

func checkKey(key []byte) error { return proof.CheckKey(key) }

// Root applies the keys changed since the previous call to the trie and
// returns the new root. The root depends only on the resulting set of
// records, never on call order. It may be called any number of times; it
// fails with ErrStaleStage once another stage has been committed.
func (st *Stage) Root() ([]byte, error) {
	if st.err != nil {
		return nil, st.err
	}
	if len(st.pending) == 0 {
		return bytes.Clone(st.root), nil
	}
	chs := st.pendingLeaves()
	sn, err := st.s.acquire()
	if err != nil {
		return nil, err
	}
	defer st.s.release(sn)
	if sn != st.base {
		return nil, ErrStaleStage
	}
	c := &trieCtx{txn: sn.txn, cache: st.s.cache, bucket: st.s.bucket, owned: st.owned, stats: &st.s.stats}
	st.s.stats.leafChanges.Add(int64(len(chs)))
	sc := c.newScanner()
	t, err := c.update(st.trie, 0, chs, sc)
	sc.close()
	if err != nil {
		st.err = fmt.Errorf("store: trie update: %w", err)
		return nil, st.err
	}
	for _, ch := range chs {
		st.leaves[ch.path] = ch
	}
	clear(st.pending)
	st.trie = t
	st.root = bytes.Clone(t.d[:])
	return bytes.Clone(st.root), nil
}

// pendingLeaves hashes the pending records into leaf changes sorted by
// path, on all cores.
func (st *Stage) pendingLeaves() []lchange {
	keys := make([]string, 0, len(st.pending))
	for k := range st.pending {
		keys = append(keys, k)
	}
	chs := make([]lchange, len(keys))
	hash := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := st.recs[keys[i]]
			if r.deleted {
				chs[i] = lchange{del: true}
				chs[i].path = sha256Path(keys[i])
			} else {
				chs[i] = lchange{leaf: newLeaf([]byte(keys[i]), r.value, r.weight)}
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(keys) < 1024 || workers < 2 {
		hash(0, len(keys))
	} else {
		var wg sync.WaitGroup
		per := (len(keys) + workers - 1) / workers
		for lo := 0; lo < len(keys); lo += per {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				hash(lo, hi)
			}(lo, min(lo+per, len(keys)))
		}
		wg.Wait()
	}
	slices.SortFunc(chs, func(a, b lchange) int { return bytes.Compare(a.path[:], b.path[:]) })
	return chs
}

// Discard drops the stage. It leaves nothing behind; afterwards the stage
// cannot be used.
func (st *Stage) Discard() {
	if st.err == nil {
		st.err = ErrStaleStage
	}
	st.recs, st.pending, st.leaves, st.owned, st.trie = nil, nil, nil, nil, nil
}
