package store

import (
	"slices"
	"sync"
)

// bucketCache keeps the leaves of recently used trie buckets in memory, so
// a bucket touched by block after block (counters, totals) is not read from
// Badger again each time. It is keyed by the bucket's digest, which
// determines its leaves, so an entry can never be stale: the cache affects
// speed only, never results.
//
// It is a two-generation cache: entries go to cur; when cur is full it
// becomes prev and a new cur starts; hits in prev move to cur. Memory is
// bounded by two generations. Cached slices are never modified.
type bucketCache struct {
	mu        sync.Mutex
	max       int64 // bytes per generation; 0 disables the cache
	used      int64 // bytes in cur
	cur, prev map[digest][]leaf
}

const (
	leafCost  = 3*32 + 8 // sizeof(leaf)
	entryCost = 128      // key, slice header, map overhead
)

func newBucketCache(bytes int64) *bucketCache {
	c := &bucketCache{}
	if bytes > 0 {
		c.max = bytes / 2
		c.cur = make(map[digest][]leaf)
	}
	return c
}

func (c *bucketCache) get(d *digest) ([]leaf, bool) {
	if c == nil || c.max == 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ls, ok := c.cur[*d]
	if !ok {
		if ls, ok = c.prev[*d]; !ok {
			return nil, false
		}
		c.putLocked(d, ls)
	}
	return ls, true
}

func (c *bucketCache) put(d *digest, ls []leaf) {
	if c == nil || c.max == 0 || len(ls) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(d, ls)
}

// fill caches a copy of ls under d if the current generation has room
// for it, and never evicts: a bulk load, a rebuild or a warm-up fills the
// cache with the first buckets it makes, as many as fit. It reports
// whether the cache had room.
func (c *bucketCache) fill(d *digest, ls []leaf) bool {
	if c == nil || c.max == 0 {
		return false
	}
	if len(ls) == 0 {
		return true
	}
	cost := entryCost + int64(len(ls))*leafCost
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used+cost > c.max {
		return false
	}
	if _, ok := c.cur[*d]; !ok {
		c.cur[*d] = slices.Clone(ls)
		c.used += cost
	}
	return true
}

func (c *bucketCache) putLocked(d *digest, ls []leaf) {
	if _, ok := c.cur[*d]; ok {
		return
	}
	cost := entryCost + int64(len(ls))*leafCost
	if c.used+cost > c.max {
		c.prev, c.cur, c.used = c.cur, make(map[digest][]leaf), 0
	}
	c.cur[*d] = ls
	c.used += cost
}
