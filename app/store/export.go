package store

import (
	"fmt"
)

// ImportRecords fills an empty store (height 0, no records) with a state
// snapshot and commits it at height. fill is called once and must call set
// for every record, in any order. If wantRoot is not nil the rebuilt root
// must equal it, else nothing is committed. The records are loaded with a
// Bulk, so the snapshot's size is not limited by memory or by Badger's
// transaction limit.
func (s *Store) ImportRecords(height int64, wantRoot []byte, fill func(set func(key, value []byte, weight uint64) error) error) error {
	b, err := s.Bulk(nil)
	if err != nil {
		return err
	}
	if err := fill(b.Set); err != nil {
		b.Discard()
		return fmt.Errorf("store: import: %w", err)
	}
	_, err = b.Commit(height, wantRoot)
	return err
}
