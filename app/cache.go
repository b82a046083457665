package app

import (
	"fmt"
	"sort"

	"github.com/mykeyledger/mykey/app/types"
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
	// existed remembers, for counted keys (types.CountedKey) a cache over
	// the state itself (not over another cache) read from its parent,
	// whether the record was there, so that countWrites need not read it
	// again.
	existed map[string]bool
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
	v, err := c.parent.Get(key)
	if err == nil && types.CountedKey(string(key)) {
		if _, overCache := c.parent.(*cache); !overCache {
			if c.existed == nil {
				c.existed = make(map[string]bool)
			}
			c.existed[string(key)] = v != nil
		}
	}
	return v, err
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

// flush writes every change to w in ascending key order, with the
// record counts of the directories the changes touch (see countWrites).
func (c *cache) flush(w writer) error {
	if err := c.countWrites(); err != nil {
		return err
	}
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

// countWrites adds to c's writes the count records (types.CountKey) of
// every counted directory whose number of records c's writes change: a
// record created counts one more in each directory holding it, a record
// deleted one less, an overwritten one the same. Whether a record existed
// is read from c's parent, the state c's writes apply to. The sums do not
// depend on map order, and a count that falls to zero deletes its record.
func (c *cache) countWrites() error {
	delta := map[string]int64{}
	var dirs []string
	for k, w := range c.writes {
		dirs = types.CountDirs(dirs[:0], k)
		if len(dirs) == 0 {
			continue
		}
		had, ok := c.existed[k]
		if !ok {
			old, err := c.parent.Get([]byte(k))
			if err != nil {
				return err
			}
			had = old != nil
		}
		var d int64
		switch {
		case !had && !w.deleted:
			d = 1
		case had && w.deleted:
			d = -1
		default:
			continue
		}
		for _, dir := range dirs {
			delta[dir] += d
		}
	}
	for dir, d := range delta {
		if d == 0 {
			continue
		}
		key := []byte(types.CountKey(dir))
		if _, ok := c.writes[string(key)]; ok {
			return fmt.Errorf("app: count record %q written directly", key)
		}
		bz, err := c.parent.Get(key)
		if err != nil {
			return err
		}
		n, err := types.DecodeCount(bz)
		if err != nil {
			return fmt.Errorf("app: %s: %w", key, err)
		}
		switch m := int64(n) + d; {
		case m < 0:
			return fmt.Errorf("app: %s would count %d records", key, m)
		case m == 0:
			c.writes[string(key)] = write{deleted: true}
		default:
			c.writes[string(key)] = write{value: types.EncodeCount(uint64(m))}
		}
	}
	return nil
}
