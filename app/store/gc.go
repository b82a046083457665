package store

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// RunValueLogGC reclaims Badger value-log space (mostly old redo chunks)
// until there is nothing left worth rewriting. It is a no-op for in-memory
// stores.
func (s *Store) RunValueLogGC() error {
	return s.View(func(*View) error { return s.runGC(-1) })
}

// runGC runs up to rounds GC rounds (rounds < 0: until nothing to do). The
// caller keeps the store open (holds a snapshot reference).
func (s *Store) runGC(rounds int) error {
	if !s.durable {
		return nil
	}
	for i := 0; rounds < 0 || i < rounds; i++ {
		err := s.db.RunValueLogGC(gcDiscardRatio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: value log gc: %w", err)
		}
	}
	return nil
}
