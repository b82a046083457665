package store

import (
	"bytes"
	"fmt"
)

// ImportRecords fills an empty store (height 0, no records) with a state
// snapshot and commits it at height. fill is called once and must call set
// for every record, in any order. If wantRoot is not nil the rebuilt root
// must equal it, else nothing is committed. The whole snapshot is staged in
// memory and committed as one block (through the redo log, so its size is
// not limited by Badger's transaction limit).
func (s *Store) ImportRecords(height int64, wantRoot []byte, fill func(set func(key, value []byte, weight uint64) error) error) error {
	if h, root := s.Height(), s.AppHash(); h != 0 || !bytes.Equal(root, emptyRoot()) {
		return fmt.Errorf("store: import into a non-empty store (height %d)", h)
	}
	st := s.Stage()
	defer st.Discard()
	if err := fill(st.Set); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	root, err := st.Root()
	if err != nil {
		return err
	}
	if wantRoot != nil && !bytes.Equal(root, wantRoot) {
		return fmt.Errorf("store: imported records give root %x, want %x", root, wantRoot)
	}
	return s.Commit(st, height)
}
