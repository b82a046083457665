package store

import (
	"errors"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/mykeyledger/mykey/app/proof"
)

const (
	// MaxKeySize is the largest record key accepted by Stage.Set.
	MaxKeySize = proof.MaxKeySize
	// MaxValueSize is the largest record value accepted by Stage.Set.
	MaxValueSize = 4 << 20

	// RootSize is the size of an SMST root: digest, sum and count.
	RootSize = proof.RootSize

	digestSize  = proof.DigestSize
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
	ErrInvalidKey = proof.ErrInvalidKey
	// ErrValueTooLarge is returned for values above MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")
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
	// WarmCache fills the bucket cache in the background after an Open
	// that took the trie from the saved layer (and so read no leaf), as a
	// rebuild from the leaves fills it while it reads them: until the
	// cache is full or every bucket is in. Close stops it.
	WarmCache bool
	// Logger receives Badger's log output and the store's notes on why
	// Open did not use a saved trie layer (nil: silent).
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
	log     badger.Logger // nil: silent

	// The saved bucket layer (layer.go), under commitMu: layerChunk is
	// its chunk size; layerOnDisk says Badger may hold a layer, layerCurrent
	// that it holds one of the committed block (Close need not write it).
	layerChunk   int
	layerOnDisk  bool
	layerCurrent bool
	// trieFromLayer says Open built the trie from the saved layer;
	// layerMiss says why it did not use a layer it found (tests).
	trieFromLayer bool
	layerMiss     error

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
	// noSaveLayer makes Close skip writing the bucket layer (tests only).
	noSaveLayer bool
	// The background warm-up of the bucket cache (warm.go): closing
	// warmStop stops it, warmDone is closed when it has ended, warmed is
	// set when it went through.
	warmStop, warmDone chan struct{}
	warmed             atomic.Bool
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
