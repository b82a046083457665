package store

import (
	"bytes"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// snapshot is one committed block: a Badger read transaction opened after
// the block was fully applied, with the block's height and root. Readers
// hold a reference while they read, so a commit applying the next block
// never shows them a half-applied state and never waits for them.
type snapshot struct {
	txn     *badger.Txn
	height  int64
	root    []byte
	trie    *rnode // the upper trie of root
	refs    int
	retired bool // replaced by a newer snapshot; discard at refs == 0

	// reads remembers records read at this block (a block's transactions
	// read the same program and provider records again and again). It
	// belongs to the snapshot, so it can never be stale.
	readsMu sync.Mutex
	reads   map[string]cachedRecord
}

type cachedRecord struct {
	value  []byte // nil: absent
	weight uint64
}

// maxSnapshotReads bounds the records a snapshot remembers.
const maxSnapshotReads = 1 << 16

func (sn *snapshot) cached(key []byte) (cachedRecord, bool) {
	sn.readsMu.Lock()
	defer sn.readsMu.Unlock()
	r, ok := sn.reads[string(key)]
	return r, ok
}

// full reports whether the snapshot remembers as many records as it may.
func (sn *snapshot) full() bool {
	sn.readsMu.Lock()
	defer sn.readsMu.Unlock()
	return len(sn.reads) >= maxSnapshotReads
}

func (sn *snapshot) remember(key []byte, r cachedRecord) {
	sn.readsMu.Lock()
	defer sn.readsMu.Unlock()
	if sn.reads == nil {
		sn.reads = make(map[string]cachedRecord)
	}
	if len(sn.reads) < maxSnapshotReads {
		sn.reads[string(key)] = r
	}
}

// acquire returns the current snapshot with a reference held.
func (s *Store) acquire() (*snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.snap.refs++
	s.active++
	return s.snap, nil
}

func (s *Store) release(sn *snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn.refs--
	if sn.refs == 0 && sn.retired {
		sn.txn.Discard()
	}
	s.active--
	if s.active == 0 {
		s.cond.Broadcast()
	}
}

// publish makes a newly applied block visible to readers.
func (s *Store) publish(height int64, root []byte, trie *rnode) {
	sn := &snapshot{txn: s.db.NewTransaction(false), height: height, root: bytes.Clone(root), trie: trie}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap
	s.snap = sn
	old.retired = true
	if old.refs == 0 {
		old.txn.Discard()
	}
}
