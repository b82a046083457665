package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Open opens or creates the store in dir and recovers an interrupted commit
// (see the package documentation).
func Open(dir string, opts Options) (*Store, error) {
	var bo badger.Options
	layerChunk := layerChunkSize
	memTable := opts.MemTableSize
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
		if memTable == 0 {
			memTable = defaultMemTableInMem
		}
	} else {
		bo = badger.DefaultOptions(dir).WithSyncWrites(true)
		vlog := opts.ValueLogFileSize
		if vlog == 0 {
			vlog = defaultValueLogFile
		}
		bo = bo.WithValueLogFileSize(vlog)
		// A Badger value must be smaller than a value log file.
		layerChunk = min(layerChunkSize, int(vlog/4))
		if memTable == 0 {
			memTable = defaultMemTable
		}
	}
	// Commits have a single writer; conflict detection is wasted work.
	// Leaves are hashes and records small protobufs: compression costs CPU
	// for little. Big memtables let a block commit in one transaction and
	// give compaction less to do; L0 may hold more tables before it stalls
	// writes.
	bo = bo.WithLogger(opts.Logger).WithDetectConflicts(false).
		WithCompression(options.None).
		WithMemTableSize(memTable).WithNumMemtables(3).
		WithNumLevelZeroTables(8).WithNumLevelZeroTablesStall(24)
	if opts.BlockCacheSize > 0 {
		bo = bo.WithBlockCacheSize(opts.BlockCacheSize)
	}
	if opts.IndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(opts.IndexCacheSize)
	}
	// Badger requires ValueThreshold <= 15 % of the memtable.
	vt := int64(defaultValueThreshold)
	if maxBatch := bo.MemTableSize * 15 / 100; vt > maxBatch/4 {
		vt = maxBatch / 4
	}
	bo = bo.WithValueThreshold(vt)

	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open badger: %w", err)
	}
	s := &Store{
		db:      db,
		durable: !opts.InMemory,
		chunk:   opts.RedoChunkSize,
		gcEvery: opts.ValueLogGCEvery,
		bucket:  opts.BucketSize,
		log:     opts.Logger,

		layerChunk: layerChunk,
	}
	s.cond = sync.NewCond(&s.mu)
	cacheSize := opts.CacheSize
	if cacheSize == 0 {
		cacheSize = defaultCacheSize
	}
	s.cache = newBucketCache(cacheSize)
	if s.chunk <= 0 {
		s.chunk = defaultRedoChunkSize
	}
	if s.gcEvery == 0 {
		s.gcEvery = defaultValueLogGCEvery
	}
	if s.bucket <= 0 {
		s.bucket = defaultBucket
	}
	if !opts.InMemory {
		s.dir = dir
	}
	height, root, err := s.loadMeta()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.recover(height, root); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.tidy(height); err != nil {
		_ = db.Close()
		return nil, err
	}
	sn := &snapshot{txn: db.NewTransaction(false), height: height, root: root}
	if sn.trie, err = s.loadTrie(sn.txn, height, root); err != nil {
		sn.txn.Discard()
		_ = db.Close()
		return nil, err
	}
	s.snap = sn
	if opts.WarmCache && s.trieFromLayer && s.cache.max > 0 {
		s.warmStop, s.warmDone = make(chan struct{}), make(chan struct{})
		txn := db.NewTransaction(false)
		go func() {
			defer close(s.warmDone)
			s.warmUp(txn, sn.trie, s.warmStop)
		}()
	}
	return s, nil
}

// tidy removes what an interrupted bulk load left: its temporary files,
// and its records and leaves in a store that has no committed block.
func (s *Store) tidy(height int64) error {
	if s.dir != "" {
		tmp, _ := filepath.Glob(filepath.Join(s.dir, bulkTempPrefix+"*"))
		for _, d := range tmp {
			if err := os.RemoveAll(d); err != nil {
				return fmt.Errorf("store: remove %s: %w", d, err)
			}
		}
	}
	if height == 0 && (s.hasPrefix(prefixRecord) || s.hasPrefix(prefixLeaf)) {
		if err := s.db.DropPrefix(prefixRecord, prefixLeaf); err != nil {
			return fmt.Errorf("store: drop an interrupted bulk load: %w", err)
		}
	}
	return nil
}

func (s *Store) hasPrefix(prefix []byte) bool {
	found := false
	_ = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		it.Rewind()
		found = it.Valid()
		return nil
	})
	return found
}

// loadTrie rebuilds the in-memory trie of the committed block (height,
// root): from the saved bucket layer if there is a usable one, else from
// the leaves in txn, checked against the committed root.
func (s *Store) loadTrie(txn *badger.Txn, height int64, root []byte) (*rnode, error) {
	if s.durable {
		t, err := s.loadLayer(txn, height, root)
		if err == nil {
			s.trieFromLayer, s.layerOnDisk, s.layerCurrent = true, true, true
			return t, nil
		}
		if !errors.Is(err, errNoLayer) {
			s.layerMiss = err
			s.logf("store: saved trie layer not used (%v); rebuilding the trie from the leaves", err)
			if err := s.dropLayer(); err != nil {
				// Harmless: it stays unusable; the first commit retries.
				s.layerOnDisk = true
				s.logf("store: delete the unusable saved trie layer: %v", err)
			}
		}
	}
	t, err := rebuild(txn, s.bucket, s.cache)
	if err != nil {
		return nil, fmt.Errorf("store: rebuild trie: %w", err)
	}
	if !bytes.Equal(t.d[:], root) {
		return nil, fmt.Errorf("store: the trie leaves give root %x, the committed root is %x", t.d[:], root)
	}
	return t, nil
}

func (s *Store) loadMeta() (height int64, root []byte, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		h, err := getValue(txn, keyHeight)
		if err != nil {
			return fmt.Errorf("store: read height: %w", err)
		}
		r, err := getValue(txn, keyRoot)
		if err != nil {
			return fmt.Errorf("store: read root: %w", err)
		}
		switch {
		case h == nil && r == nil:
			height, root = 0, emptyRoot()
		case len(h) == 8 && len(r) == RootSize:
			height, root = int64(binary.BigEndian.Uint64(h)), r
		default:
			return fmt.Errorf("store: corrupt meta: height %x, root %x", h, r)
		}
		return nil
	})
	return height, root, err
}

// Close waits for running reads, then closes the store. It must not be
// called from inside a read callback (Iterate, View, ...).
func (s *Store) Close() error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.warmStop != nil {
		close(s.warmStop)
		<-s.warmDone
	}
	for s.active > 0 {
		s.cond.Wait()
	}
	sn := s.snap
	sn.retired = true
	sn.txn.Discard()
	save := s.durable && s.failed == nil && !s.layerCurrent && !s.noSaveLayer && sn.height > 0
	s.mu.Unlock()
	var saveErr error
	if save {
		if err := s.saveLayer(sn.height, sn.root, sn.trie); err != nil {
			saveErr = fmt.Errorf("store: save the trie layer (the next Open rebuilds the trie from the leaves): %w", err)
		}
	}
	if err := s.db.Close(); err != nil {
		return errors.Join(saveErr, fmt.Errorf("store: close badger: %w", err))
	}
	return saveErr
}

// committed notes (under commitMu) that a block was committed after Open:
// a saved layer no longer describes the committed trie and is deleted.
// Failing to delete it is harmless (Open ignores a layer of another
// height); the next commit tries again.
func (s *Store) committed() {
	s.layerCurrent = false
	if !s.layerOnDisk {
		return
	}
	if err := s.dropLayer(); err != nil {
		s.logf("store: delete the stale saved trie layer: %v", err)
		return
	}
	s.layerOnDisk = false
}

func (s *Store) logf(format string, args ...any) {
	if s.log != nil {
		s.log.Infof(format, args...)
	}
}
