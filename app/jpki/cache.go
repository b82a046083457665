package jpki

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"sync/atomic"
)

// chainResult is what the cache holds for one certificate: the parsed
// certificate and the anchors it chains to. Both are facts about the DER
// alone (given the anchor set), independent of time; everything that
// depends on the verification time is evaluated on every call.
type chainResult struct {
	cert    *x509.Certificate
	anchors []*x509.Certificate // the anchors that issued cert, in anchor order; never empty
	ref     atomic.Bool         // CLOCK reference bit
}

// certCache is a bounded, concurrency-safe map from sha256(DER) to
// *chainResult. It is split into shards, each guarded by its own RWMutex
// and evicting with the CLOCK (second-chance) algorithm. Lookups take only
// a shard's read lock.
type certCache struct {
	shards []cacheShard
	hits   atomic.Uint64
	misses atomic.Uint64
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[[sha256.Size]byte]*chainResult
	ring [][sha256.Size]byte // insertion slots for CLOCK
	hand int
	cap  int
	_    [64]byte // keep shards on separate cache lines
}

const (
	maxCacheShards     = 16
	minEntriesPerShard = 64
)

// newCertCache returns a cache holding at most size entries, or nil (no
// caching) if size <= 0.
func newCertCache(size int) *certCache {
	if size <= 0 {
		return nil
	}
	n := min(max(size/minEntriesPerShard, 1), maxCacheShards)
	c := &certCache{shards: make([]cacheShard, n)}
	for i := range c.shards {
		s := &c.shards[i]
		s.cap = size / n
		if i < size%n {
			s.cap++
		}
		s.m = make(map[[sha256.Size]byte]*chainResult, s.cap)
		s.ring = make([][sha256.Size]byte, 0, s.cap)
	}
	return c
}

func (c *certCache) shard(k *[sha256.Size]byte) *cacheShard {
	return &c.shards[int(k[0])%len(c.shards)]
}

func (c *certCache) get(k *[sha256.Size]byte) *chainResult {
	s := c.shard(k)
	s.mu.RLock()
	r := s.m[*k]
	s.mu.RUnlock()
	if r == nil {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	if !r.ref.Load() {
		r.ref.Store(true)
	}
	return r
}

func (c *certCache) put(k *[sha256.Size]byte, r *chainResult) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[*k]; ok {
		return // another goroutine added it meanwhile
	}
	if len(s.ring) < s.cap {
		s.ring = append(s.ring, *k)
		s.m[*k] = r
		return
	}
	// CLOCK: skip (and clear) recently used entries, at most two laps so
	// that concurrent readers setting reference bits cannot stall us.
	for range 2 * s.cap {
		if old := s.m[s.ring[s.hand]]; old != nil && old.ref.Load() {
			old.ref.Store(false)
			s.hand = (s.hand + 1) % s.cap
			continue
		}
		break
	}
	delete(s.m, s.ring[s.hand])
	s.ring[s.hand] = *k
	s.m[*k] = r
	s.hand = (s.hand + 1) % s.cap
}

// len returns the number of cached entries.
func (c *certCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
