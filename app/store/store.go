package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/pokt-network/smt"
)

const (
	// MaxKeySize is the largest record key accepted by Stage.Set.
	MaxKeySize = 4096
	// MaxValueSize is the largest record value accepted by Stage.Set.
	MaxValueSize = 4 << 20

	// RootSize is the size of an SMST root: digest, sum and count.
	RootSize = digestSize + 16

	digestSize  = sha256.Size
	weightBytes = 8

	defaultRedoChunkSize   = 4 << 20
	defaultValueLogGCEvery = 50
	defaultValueLogFile    = 256 << 20
	defaultValueThreshold  = 1 << 20
	defaultCacheSize       = 256 << 20
	defaultMemTable        = 256 << 20
	defaultMemTableInMem   = 64 << 20
	gcDiscardRatio         = 0.5
)

var (
	prefixRecord = []byte("r/")
	prefixRedo   = []byte("w/")
	keyHeight    = []byte("m/height")
	keyRoot      = []byte("m/root")
)

var (
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errors.New("store: closed")
	// ErrStaleStage is returned by Commit for a stage that was created
	// before another commit, or that was already committed or discarded.
	ErrStaleStage = errors.New("store: stale stage")
	// ErrInvalidKey is returned for empty or too long keys.
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrValueTooLarge is returned for values above MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")
	// ErrInvalidProof is returned when a proof does not verify.
	ErrInvalidProof = errors.New("store: invalid proof")
)

// Options configures Open. The zero value is a sane on-disk configuration.
type Options struct {
	// InMemory runs Badger in memory (for tests); dir is ignored. There is
	// no redo log since nothing survives a crash anyway.
	InMemory bool

	// BlockCacheSize is Badger's block cache in bytes (0: 256 MiB).
	BlockCacheSize int64
	// IndexCacheSize is Badger's index cache in bytes (0: Badger's default,
	// indexes kept in memory).
	IndexCacheSize int64
	// MemTableSize is Badger's memtable size in bytes (0: 256 MiB on disk,
	// 64 MiB in memory). Badger's transaction size limit is 15 % of it; a
	// block whose changes fit is committed in one transaction, a bigger
	// one through the redo log.
	MemTableSize int64
	// ValueLogFileSize is the size of one Badger value log file (0:
	// 256 MiB). Smaller files let value-log GC reclaim old redo chunks
	// sooner.
	ValueLogFileSize int64
	// RedoChunkSize is the size of one redo log chunk (0: 4 MiB).
	RedoChunkSize int
	// ValueLogGCEvery runs one round of Badger value-log GC after every
	// this many commits (0: 50; negative: never, call RunValueLogGC
	// yourself). Ignored for in-memory stores.
	ValueLogGCEvery int64
	// CacheSize bounds the memory (bytes, approximately) of the cache of
	// trie bucket leaves kept across blocks (0: 256 MiB; negative: no
	// cache). Entries are content-addressed, so the cache never changes
	// results.
	CacheSize int64
	// BucketSize is the most leaves a bucket of the in-memory trie holds
	// before it is split (0: 32). Larger buckets use less memory (about
	// 200 bytes per bucket) and cost more hashing per changed record.
	BucketSize int
	// Logger receives Badger's log output (nil: silent).
	Logger badger.Logger
}

// Store is the committed application state. Its methods are safe for
// concurrent use; a Stage is not (use it from one goroutine).
type Store struct {
	db      *badger.DB
	dir     string // "" in memory
	durable bool   // on disk: use the redo log
	chunk   int
	gcEvery int64
	cache   *bucketCache
	bucket  int

	// commitMu serialises Commit and Close.
	commitMu sync.Mutex
	commits  int64 // commits since Open, for value-log GC; under commitMu

	// mu guards the fields below; cond signals active reaching zero.
	mu     sync.Mutex
	cond   *sync.Cond
	snap   *snapshot // the last committed block
	active int       // snapshot references held by readers
	closed bool
	failed error // set when a commit failed after it started writing

	stats counters

	// redoTxnLimit, if > 0, forces the multi-transaction redo path with
	// at most this many chunks per transaction (tests only).
	redoTxnLimit int
	// forceRedo commits through the redo log even when a block fits one
	// transaction (tests only).
	forceRedo bool
}

// Stats are cumulative counters of the store's work since Open.
type Stats struct {
	LeafChanges int64 // leaf changes applied by Stage.Root
	BucketReads int64 // trie buckets read from Badger
	BucketHits  int64 // trie buckets found in memory
	Commits     int64 // blocks committed
	RedoCommits int64 // ... of which through the redo log
	Writes      int64 // record and leaf puts and deletes committed
}

type counters struct {
	leafChanges, bucketReads, bucketHits, commits, redoCommits, writes atomic.Int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{
		LeafChanges: c.leafChanges.Load(), BucketReads: c.bucketReads.Load(), BucketHits: c.bucketHits.Load(),
		Commits: c.commits.Load(), RedoCommits: c.redoCommits.Load(), Writes: c.writes.Load(),
	}
}

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

// testHook, when set (tests only), is called at named points of Commit.
// A non-nil return aborts the commit right there, as a crash would: nothing
// after the point happens, and the store refuses further commits.
var testHook func(point string) error

const (
	hookBeforeRedo = "before-redo" // nothing written yet
	hookRedoChunk  = "redo-chunk"  // a chunk transaction committed, no marker yet
	hookAfterRedo  = "after-redo"  // marker, m/height, m/root durable
	hookMidApply   = "mid-apply"   // part of the changeset applied
	hookAfterApply = "after-apply" // whole changeset applied, redo entry still there
	hookMidReplay  = "mid-replay"  // Open: part of a redo entry replayed
	hookAfterTxn   = "after-txn"   // one-transaction commit durable, not yet published
	hookMidBulk    = "mid-bulk"    // Bulk.Commit: records and leaves written, no meta
)

func hook(point string) error {
	if testHook == nil {
		return nil
	}
	if err := testHook(point); err != nil {
		return fmt.Errorf("store: test hook %s: %w", point, err)
	}
	return nil
}

// Open opens or creates the store in dir and recovers an interrupted commit
// (see the package documentation).
func Open(dir string, opts Options) (*Store, error) {
	var bo badger.Options
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
	if sn.trie, err = s.loadTrie(sn.txn, root); err != nil {
		sn.txn.Discard()
		_ = db.Close()
		return nil, err
	}
	s.snap = sn
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

// loadTrie rebuilds the in-memory trie from the leaves in txn and checks it
// against the committed root.
func (s *Store) loadTrie(txn *badger.Txn, root []byte) (*rnode, error) {
	t, err := rebuild(txn, s.bucket)
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
	for s.active > 0 {
		s.cond.Wait()
	}
	s.snap.retired = true
	s.snap.txn.Discard()
	s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close badger: %w", err)
	}
	return nil
}

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

// getValue returns a copy of key's value, or nil if absent.
func getValue(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func recordKey(key []byte) []byte {
	return concat(prefixRecord, key)
}

func concat(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

func encodeRecord(value []byte, weight uint64) []byte {
	out := make([]byte, weightBytes+len(value))
	binary.BigEndian.PutUint64(out, weight)
	copy(out[weightBytes:], value)
	return out
}

// decodeRecord splits a stored record; the value aliases raw and is
// non-nil even when empty.
func decodeRecord(raw []byte) (value []byte, weight uint64, err error) {
	if len(raw) < weightBytes {
		return nil, 0, fmt.Errorf("corrupt record of %d bytes", len(raw))
	}
	return raw[weightBytes:len(raw):len(raw)], binary.BigEndian.Uint64(raw), nil
}

// emptyRoot is the root of the empty SMST (all zero).
func emptyRoot() []byte {
	return make([]byte, RootSize)
}

// newTrieSpec returns a fresh spec (its hasher is not shared).
func newTrieSpec() *smt.TrieSpec {
	spec := smt.NewTrieSpec(sha256.New(), true)
	return &spec
}

// trieValue is the value stored in the SMST leaf for a record value; see
// the package documentation for why it is prefixed.
func trieValue(value []byte) []byte {
	out := make([]byte, 1+len(value))
	copy(out[1:], value)
	return out
}

// RootSum returns the total weight committed to by root.
func RootSum(root []byte) (uint64, error) {
	if len(root) != RootSize {
		return 0, fmt.Errorf("store: root of %d bytes, want %d", len(root), RootSize)
	}
	return smt.MerkleSumRoot(root).Sum()
}

// RootCount returns the number of records committed to by root.
func RootCount(root []byte) (uint64, error) {
	if len(root) != RootSize {
		return 0, fmt.Errorf("store: root of %d bytes, want %d", len(root), RootSize)
	}
	return smt.MerkleSumRoot(root).Count()
}
