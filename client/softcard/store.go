package softcard

import (
	"sync"

	"github.com/mykeyledger/mykey/internal/cardfile"
)

// Store holds the persistent memory of a soft card: its keys, certificates
// and PIN counters. Implementations must be safe for concurrent use, and
// Update must be atomic: fn sees the latest state, and the state fn leaves
// is either stored whole (fn returned nil) or not at all (fn returned an
// error, which Update returns).
type Store interface {
	Load() (*cardfile.Card, error)
	Update(fn func(*cardfile.Card) error) error
}

// FileStore is a Store in a card file (see package cardfile): Update locks
// the file, so several processes using one card file queue, and a crash
// never corrupts it.
type FileStore string

// Load reads the card file.
func (p FileStore) Load() (*cardfile.Card, error) { return cardfile.Load(string(p)) }

// Update changes the card file under its lock.
func (p FileStore) Update(fn func(*cardfile.Card) error) error {
	return cardfile.Update(string(p), fn)
}

// MemStore is a Store in memory, for tests.
type MemStore struct {
	mu   sync.Mutex
	card *cardfile.Card
}

// NewMemStore returns a MemStore holding a copy of c.
func NewMemStore(c *cardfile.Card) *MemStore { return &MemStore{card: c.Clone()} }

// Load returns a copy of the card.
func (m *MemStore) Load() (*cardfile.Card, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.card.Clone(), nil
}

// Update applies fn to a copy of the card and keeps the copy if fn returns
// nil and the result is valid.
func (m *MemStore) Update(fn func(*cardfile.Card) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.card.Clone()
	if err := fn(c); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	m.card = c
	return nil
}
