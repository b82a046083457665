package store

import (
	"bytes"
	"sync"
)

// nodeCache keeps recently used trie nodes in memory across blocks, so the
// upper levels of the trie are not read from Badger again for every block.
// Nodes are content-addressed (keyed by their digest), so a cached entry can
// never be stale; the cache affects speed only, never results.
//
// It is a two-generation cache: entries go to cur; when cur is full it
// becomes prev and a new cur starts; hits in prev move to cur. Memory is
// bounded by two generations.
type nodeCache struct {
	mu        sync.Mutex
	max       int // entries per generation; 0 disables the cache
	cur, prev map[string][]byte
}

// cacheEntryCost approximates the memory of one cached node (key, value,
// map overhead).
const cacheEntryCost = 256

func newNodeCache(bytes int64) *nodeCache {
	c := &nodeCache{}
	if bytes > 0 {
		c.max = int(bytes / 2 / cacheEntryCost)
		c.cur = make(map[string][]byte)
	}
	return c
}

// get returns a copy of the cached node.
func (c *nodeCache) get(digest []byte) ([]byte, bool) {
	if c.max == 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.cur[string(digest)]
	if !ok {
		if v, ok = c.prev[string(digest)]; !ok {
			return nil, false
		}
		c.putLocked(string(digest), v)
	}
	return bytes.Clone(v), true
}

func (c *nodeCache) put(digest string, node []byte) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(digest, node)
}

func (c *nodeCache) putLocked(digest string, node []byte) {
	if len(c.cur) >= c.max {
		c.prev, c.cur = c.cur, make(map[string][]byte, c.max)
	}
	c.cur[digest] = node
}

func (c *nodeCache) remove(digest string) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, digest)
	delete(c.prev, digest)
}
