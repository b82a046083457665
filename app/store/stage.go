package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/pokt-network/smt"
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
	nodes   *nodeOverlay
	trie    *smt.SMST
	root    []byte // root after the last Root call
}

type stagedRecord struct {
	value   []byte
	weight  uint64
	deleted bool
}

// Stage returns a new working set over the committed state. Stages are
// independent; only one of the stages created between two commits can be
// committed.
func (s *Store) Stage() *Stage {
	s.mu.Lock()
	st := &Stage{
		s:       s,
		base:    s.snap,
		recs:    make(map[string]*stagedRecord),
		pending: make(map[string]struct{}),
		root:    bytes.Clone(s.snap.root),
	}
	switch {
	case s.closed:
		st.err = ErrClosed
	case s.failed != nil:
		st.err = s.failed
	}
	s.mu.Unlock()
	st.nodes = &nodeOverlay{s: s, m: make(map[string]nodeEntry)}
	// A fresh import per block: only nodes this block touches are held in
	// memory (plus the bounded node cache).
	st.trie = smt.ImportSparseMerkleSumTrie(st.nodes, sha256.New(), bytes.Clone(st.root))
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

func checkKey(key []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	return nil
}

// Root applies the keys changed since the previous call to the trie, in
// sorted key order, and returns the new root. It may be called any number
// of times.
func (st *Stage) Root() ([]byte, error) {
	if st.err != nil {
		return nil, st.err
	}
	if len(st.pending) == 0 {
		return bytes.Clone(st.root), nil
	}
	keys := make([]string, 0, len(st.pending))
	for k := range st.pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := st.recs[k]
		var err error
		if r.deleted {
			err = st.trie.Delete([]byte(k))
			if errors.Is(err, smt.ErrKeyNotFound) {
				err = nil // never existed or already gone
			}
		} else {
			err = st.trie.Update([]byte(k), trieValue(r.value), r.weight)
		}
		if err != nil {
			st.err = fmt.Errorf("store: trie update %q: %w", k, err)
			return nil, st.err
		}
	}
	clear(st.pending)
	st.root = bytes.Clone(st.trie.Root())
	return bytes.Clone(st.root), nil
}

// Discard drops the stage. It leaves nothing behind; afterwards the stage
// cannot be used.
func (st *Stage) Discard() {
	if st.err == nil {
		st.err = ErrStaleStage
	}
	st.recs, st.pending, st.trie = nil, nil, nil
	if st.nodes != nil {
		st.nodes.m = nil
	}
}

// nodeOverlay is the SMST's kvstore.MapStore for a stage: reads go through
// the in-memory overlay to Badger's n/ keys; writes and deletes (made by
// SMST.Commit) stay in the overlay until Store.Commit persists them.
type nodeOverlay struct {
	s *Store
	m map[string]nodeEntry
}

type nodeEntry struct {
	value   []byte
	deleted bool
}

func (o *nodeOverlay) Get(key []byte) (node []byte, err error) {
	if e, ok := o.m[string(key)]; ok {
		if e.deleted {
			return nil, fmt.Errorf("store: trie node %x: %w", key, badger.ErrKeyNotFound)
		}
		return e.value, nil
	}
	if node, ok := o.s.cache.get(key); ok {
		return node, nil
	}
	err = o.s.View(func(v *View) error {
		node, err = v.readNode(key)
		return err
	})
	return node, err
}

func (o *nodeOverlay) Set(key, value []byte) error {
	o.m[string(key)] = nodeEntry{value: bytes.Clone(value)}
	return nil
}

func (o *nodeOverlay) Delete(key []byte) error {
	o.m[string(key)] = nodeEntry{deleted: true}
	return nil
}

// Len returns the number of entries buffered in the overlay (the SMST does
// not use it).
func (o *nodeOverlay) Len() (int, error) { return len(o.m), nil }

// ClearAll is not supported: trie nodes are never dropped wholesale.
func (o *nodeOverlay) ClearAll() error {
	return errors.New("store: ClearAll not supported")
}

// committedNodes is a read-only MapStore over Badger's n/ keys, for proofs
// against a view's root.
type committedNodes struct{ v *View }

func (c committedNodes) Get(key []byte) ([]byte, error) { return c.v.readNode(key) }
func (c committedNodes) Set(_, _ []byte) error {
	return errors.New("store: committed trie is read-only")
}
func (c committedNodes) Delete(_ []byte) error {
	return errors.New("store: committed trie is read-only")
}
func (c committedNodes) Len() (int, error) { return 0, errors.New("store: Len not supported") }
func (c committedNodes) ClearAll() error {
	return errors.New("store: committed trie is read-only")
}
