package store

import (
	"bytes"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// View calls fn with a consistent read-only view of the last committed
// block. Everything read through v belongs to the same block even if
// commits happen meanwhile; v must not be used after fn returns. fn must
// not call Close.
func (s *Store) View(fn func(v *View) error) error {
	sn, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release(sn)
	v := &View{s: s, sn: sn}
	defer func() { v.done = true }()
	return fn(v)
}

// View is a read-only view of one committed block; see Store.View.
type View struct {
	s    *Store
	sn   *snapshot
	done bool
}

var errViewDone = errors.New("store: view used after its callback returned")

// Height returns the view's block height.
func (v *View) Height() int64 { return v.sn.height }

// AppHash returns the view's root.
func (v *View) AppHash() []byte { return bytes.Clone(v.sn.root) }

// Height returns the last committed height, 0 for a fresh store.
func (s *Store) Height() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.height
}

// AppHash returns the last committed root (see the package documentation);
// for an empty store it is the SMST's empty root (48 zero bytes).
func (s *Store) AppHash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.snap.root)
}

// Get returns the committed value of key, or (nil, nil) if absent. A present
// record with an empty value returns a non-nil empty slice.
func (s *Store) Get(key []byte) (value []byte, err error) {
	err = s.View(func(v *View) error {
		value, err = v.Get(key)
		return err
	})
	return value, err
}

// Get is Store.Get at the view's block.
func (v *View) Get(key []byte) ([]byte, error) {
	value, _, err := v.getRecord(key)
	return value, err
}

func (v *View) getRecord(key []byte) (value []byte, weight uint64, err error) {
	if v.done {
		return nil, 0, errViewDone
	}
	if len(key) == 0 {
		return nil, 0, nil // no record has an empty key
	}
	if r, ok := v.sn.cached(key); ok {
		return bytes.Clone(r.value), r.weight, nil
	}
	raw, err := getValue(v.sn.txn, recordKey(key))
	if err == nil && raw != nil {
		value, weight, err = decodeRecord(raw)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %q: %w", key, err)
	}
	v.sn.remember(key, cachedRecord{value: bytes.Clone(value), weight: weight})
	return value, weight, nil
}

// Prefetch reads the committed records of keys (absent ones too) so that
// reads of them at this block are answered from memory: the app reads a
// block's records on all cores before executing it in order. What it
// remembers belongs to the committed block it read, so it can never be
// stale; at most maxSnapshotReads records are remembered per block.
func (s *Store) Prefetch(keys [][]byte) error {
	return s.View(func(v *View) error {
		for _, k := range keys {
			if v.sn.full() {
				return nil // nothing more would be remembered
			}
			if _, _, err := v.getRecord(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Iterate calls fn for each committed record whose key starts with prefix,
// in ascending key order, until fn returns true. key and value are fresh
// copies owned by fn. All records come from the same block. fn may read the
// store (and even commit) but must not call Close.
func (s *Store) Iterate(prefix []byte, fn func(key, value []byte) (stop bool)) error {
	return s.IterateFrom(prefix, nil, fn)
}

// IterateFrom is Iterate starting after the key startAfter (exclusive; nil
// or empty starts at the prefix), so a long range can be read in pages.
func (s *Store) IterateFrom(prefix, startAfter []byte, fn func(key, value []byte) (stop bool)) error {
	return s.View(func(v *View) error { return v.IterateFrom(prefix, startAfter, fn) })
}

// Iterate is Store.Iterate at the view's block.
func (v *View) Iterate(prefix []byte, fn func(key, value []byte) (stop bool)) error {
	return v.IterateFrom(prefix, nil, fn)
}

// IterateFrom is Store.IterateFrom at the view's block.
func (v *View) IterateFrom(prefix, startAfter []byte, fn func(key, value []byte) (stop bool)) error {
	return v.iterate(prefix, startAfter, func(key, value []byte, _ uint64) (bool, error) {
		return fn(key, value), nil
	})
}

// ExportRecords calls fn for every committed record in ascending key order,
// for state sync; all records come from the same block. key and value are
// fresh copies. fn must not call Close.
func (s *Store) ExportRecords(fn func(key, value []byte, weight uint64) error) error {
	return s.View(func(v *View) error { return v.ExportRecords(fn) })
}

// ExportRecords is Store.ExportRecords at the view's block.
func (v *View) ExportRecords(fn func(key, value []byte, weight uint64) error) error {
	return v.iterate(nil, nil, func(key, value []byte, weight uint64) (bool, error) {
		return false, fn(key, value, weight)
	})
}

func (v *View) iterate(prefix, startAfter []byte, fn func(key, value []byte, weight uint64) (bool, error)) error {
	if v.done {
		return errViewDone
	}
	full := recordKey(prefix)
	seek := full
	var after []byte
	if len(startAfter) > 0 {
		after = recordKey(startAfter)
		if bytes.Compare(after, seek) > 0 {
			seek = after
		}
	}
	io := badger.DefaultIteratorOptions
	io.Prefix = full
	it := v.sn.txn.NewIterator(io)
	defer it.Close()
	for it.Seek(seek); it.ValidForPrefix(full); it.Next() {
		item := it.Item()
		if after != nil && bytes.Equal(item.Key(), after) {
			continue
		}
		key := item.KeyCopy(nil)[len(prefixRecord):]
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("store: iterate %q: %w", key, err)
		}
		value, weight, err := decodeRecord(raw)
		if err != nil {
			return fmt.Errorf("store: iterate %q: %w", key, err)
		}
		stop, err := fn(key, value, weight)
		if err != nil || stop {
			return err
		}
	}
	return nil
}
