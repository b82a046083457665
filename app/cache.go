package app

import (
	"sort"
)

// reader reads state: the store's committed view, a block's stage, or
// another cache.
type reader interface {
	Get(key []byte) ([]byte, error)
}

// writer receives a cache's changes when it is flushed.
type writer interface {
	Set(key, value []byte, weight uint64) error
	Delete(key []byte) error
}

type write struct {
	value   []byte
	weight  uint64
	deleted bool
}

// cache buffers writes over a parent reader. Each transaction (and each
// link or charge within one) runs in a child cache that is merged into its
// parent only when it succeeds, so a rejection leaves no trace in state.
// A block's cache is flushed to the store's stage once, in sorted key order.
type cache struct {
	parent reader
	writes map[string]write
}

func newCache(parent reader) *cache {
	return &cache{parent: parent, writes: make(map[string]write)}
}

func (c *cache) Get(key []byte) ([]byte, error) {
	if w, ok := c.writes[string(key)]; ok {
		if w.deleted {
			return nil, nil
		}
		return w.value, nil
	}
	return c.parent.Get(key)
}

func (c *cache) Set(key, value []byte, weight uint64) {
	c.writes[string(key)] = write{value: value, weight: weight}
}

func (c *cache) Delete(key []byte) {
	c.writes[string(key)] = write{deleted: true}
}

// child returns a cache whose parent is c.
func (c *cache) child() *cache { return newCache(c) }

// mergeInto copies c's writes into its parent cache.
func (c *cache) mergeInto(parent *cache) {
	for k, w := range c.writes {
		parent.writes[k] = w
	}
}

// flush writes every change to w in ascending key order.
func (c *cache) flush(w writer) error {
	keys := make([]string, 0, len(c.writes))
	for k := range c.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		wr := c.writes[k]
		var err error
		if wr.deleted {
			err = w.Delete([]byte(k))
		} else {
			err = w.Set([]byte(k), wr.value, wr.weight)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
