package store

import (
	"bytes"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// IterateFrom is Iterate starting after the key startAfter (exclusive; nil
// or empty starts at the prefix), so a long range can be read in pages.
func (s *Store) IterateFrom(prefix, startAfter []byte, fn func(key, value []byte) (stop bool)) error {
	s.gate.rlock()
	defer s.gate.runlock()
	if s.closed {
		return ErrClosed
	}
	full := recordKey(prefix)
	seek := full
	if len(startAfter) > 0 {
		seek = recordKey(startAfter)
	}
	return s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = full
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix(full); it.Next() {
			item := it.Item()
			if len(startAfter) > 0 && bytes.Equal(item.Key(), seek) {
				continue
			}
			key := item.KeyCopy(nil)[len(prefixRecord):]
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("store: iterate %q: %w", key, err)
			}
			value, _, err := decodeRecord(raw)
			if err != nil {
				return fmt.Errorf("store: iterate %q: %w", key, err)
			}
			if fn(key, value) {
				return nil
			}
		}
		return nil
	})
}
