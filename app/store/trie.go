package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/mykeyledger/mykey/app/proof"
)

// The sparse Merkle sum trie, computed without storing its nodes.
//
// pokt-network/smt defines the root (see the package documentation); this
// file computes the same digests from the records' leaves directly:
//
//	digest(empty subtree)          = 48 zero bytes
//	digest(subtree with one leaf)  = sha256(leafNode) || weight || 1
//	digest(subtree with n >= 2)    = sha256(0x01 || digest(left) || digest(right) || sum || n) || sum || n
//
// where leafNode = 0x00 || path || sha256(0x00 || value) || weight || 1 and
// left/right are the subtrees one bit further down the path (the path is
// sha256(key)). A subtree holding a single leaf is that leaf, whatever its
// depth; a subtree holding two or more leaves is an inner node at every
// depth, even when one side is empty (smt stores such chains as extension
// nodes, whose digest is the digest of the chain they stand for). This is
// exactly smt's SMST root, so smt's proof verification applies unchanged;
// trie_test.go checks the equivalence against smt itself.
//
// The leaves are kept in Badger under l/<path> (sorted by path), next to the
// records under r/<key>. Only the upper part of the trie is held in memory:
// a binary trie of "buckets", each bucket a path prefix holding at most
// Options.BucketSize leaves, with every node's digest. A block recomputes
// the buckets it touches from their leaves (one range scan each) and the
// in-memory nodes above them; nothing but the changed records and leaves is
// written. The in-memory trie is persistent (copy on write): each committed
// snapshot keeps its own root, so readers prove against the block they read.

const (
	pathSize       = sha256.Size
	leafValueSize  = 2*sha256.Size + 8 // value hash, weight, leaf hash
	defaultBucket  = 32
	parallelDepth  = 2    // subtries at depths below this are updated in parallel
	parallelMinOps = 2048 // ... when they have at least this many changes
)

var prefixLeaf = []byte("l/")

// digest is a subtree digest: sha256 || sum || count, all zero when empty.
type digest [RootSize]byte

func (d *digest) sum() uint64   { return binary.BigEndian.Uint64(d[digestSize:]) }
func (d *digest) count() uint64 { return binary.BigEndian.Uint64(d[digestSize+8:]) }

// leaf is the trie leaf of one record.
type leaf struct {
	path   [pathSize]byte
	vhash  [sha256.Size]byte // sha256(trieValue(value))
	weight uint64
	lhash  [sha256.Size]byte // sha256 of the encoded leaf node
}

func newLeaf(key, value []byte, weight uint64) leaf {
	var l leaf
	l.path = sha256.Sum256(key)
	h := sha256.New()
	h.Write([]byte{0}) // trieValue's prefix
	h.Write(value)
	h.Sum(l.vhash[:0])
	l.weight = weight
	l.lhash = sha256.Sum256(l.encodeNode())
	return l
}

// encodeNode is smt's encoding of the leaf node (also the non-membership
// leaf data of proofs).
func (l *leaf) encodeNode() []byte {
	b := make([]byte, 0, proof.LeafDataSize)
	b = append(b, 0)
	b = append(b, l.path[:]...)
	b = append(b, l.vhash[:]...)
	b = binary.BigEndian.AppendUint64(b, l.weight)
	return binary.BigEndian.AppendUint64(b, 1)
}

func (l *leaf) digest() digest {
	var d digest
	copy(d[:], l.lhash[:])
	binary.BigEndian.PutUint64(d[digestSize:], l.weight)
	binary.BigEndian.PutUint64(d[digestSize+8:], 1)
	return d
}

// encodeValue is the l/ value: value hash, weight, leaf hash.
func (l *leaf) encodeValue() []byte {
	b := make([]byte, 0, leafValueSize)
	b = append(b, l.vhash[:]...)
	b = binary.BigEndian.AppendUint64(b, l.weight)
	return append(b, l.lhash[:]...)
}

func decodeLeaf(key, val []byte) (leaf, error) {
	var l leaf
	if len(key) != len(prefixLeaf)+pathSize || len(val) != leafValueSize {
		return l, fmt.Errorf("store: corrupt leaf %x = %x", key, val)
	}
	copy(l.path[:], key[len(prefixLeaf):])
	copy(l.vhash[:], val)
	l.weight = binary.BigEndian.Uint64(val[sha256.Size:])
	copy(l.lhash[:], val[sha256.Size+8:])
	return l, nil
}

func sha256Path(key string) [pathSize]byte {
	return sha256.Sum256([]byte(key))
}

func leafKey(path *[pathSize]byte) []byte {
	return concat(prefixLeaf, path[:])
}

// inner combines two sibling subtrees.
func inner(l, r *digest) digest {
	lc, rc := l.count(), r.count()
	switch {
	case lc+rc == 0:
		return digest{}
	case rc == 0 && lc == 1:
		return *l
	case lc == 0 && rc == 1:
		return *r
	}
	var buf [1 + 2*RootSize + 16]byte
	buf[0] = 1
	copy(buf[1:], l[:])
	copy(buf[1+RootSize:], r[:])
	sum, cnt := l.sum()+r.sum(), lc+rc
	binary.BigEndian.PutUint64(buf[1+2*RootSize:], sum)
	binary.BigEndian.PutUint64(buf[1+2*RootSize+8:], cnt)
	var d digest
	h := sha256.Sum256(buf[:])
	copy(d[:], h[:])
	binary.BigEndian.PutUint64(d[digestSize:], sum)
	binary.BigEndian.PutUint64(d[digestSize+8:], cnt)
	return d
}

func bit(path *[pathSize]byte, i int) int {
	return int(path[i/8]>>(7-uint(i)%8)) & 1
}

// samePrefix reports whether a and b agree on their first n bits.
func samePrefix(a, b []byte, n int) bool {
	full := n / 8
	if !bytes.Equal(a[:full], b[:full]) {
		return false
	}
	if r := n % 8; r != 0 {
		mask := byte(0xff << (8 - r))
		return a[full]&mask == b[full]&mask
	}
	return true
}

// splitAt returns the index of the first leaf (sorted by path, all sharing
// the first depth bits) whose bit depth is 1.
func splitLeaves(ls []leaf, depth int) int {
	return sort.Search(len(ls), func(i int) bool { return bit(&ls[i].path, depth) == 1 })
}

// build returns the digest of the subtree at depth holding ls (sorted).
func build(ls []leaf, depth int) digest {
	switch len(ls) {
	case 0:
		return digest{}
	case 1:
		return ls[0].digest()
	}
	i := splitLeaves(ls, depth)
	l, r := build(ls[:i], depth+1), build(ls[i:], depth+1)
	return inner(&l, &r)
}

// rnode is a node of the in-memory upper trie: an inner node (both
// children set) or a bucket (no children; its leaves are in Badger).
// Nodes are immutable once committed.
type rnode struct {
	left, right *rnode
	d           digest
}

func (n *rnode) bucket() bool { return n.left == nil }

func newInner(l, r *rnode) *rnode {
	return &rnode{left: l, right: r, d: inner(&l.d, &r.d)}
}

// lchange is a staged change of one leaf.
type lchange struct {
	leaf
	del bool
}

// mergeLeaves applies chs (sorted by path) to ls (sorted) into a new slice.
func mergeLeaves(ls []leaf, chs []lchange) []leaf {
	out := make([]leaf, 0, len(ls)+len(chs))
	i := 0
	for j := range chs {
		c := &chs[j]
		for i < len(ls) && bytes.Compare(ls[i].path[:], c.path[:]) < 0 {
			out = append(out, ls[i])
			i++
		}
		if i < len(ls) && ls[i].path == c.path {
			i++ // replaced or deleted
		}
		if !c.del {
			out = append(out, c.leaf)
		}
	}
	return append(out, ls[i:]...)
}

// trieCtx holds what an update or a proof needs to read bucket leaves: the
// read transaction of the block it builds on, the shared bucket cache and,
// for a stage, the leaves of the buckets it created.
type trieCtx struct {
	txn    *badger.Txn
	cache  *bucketCache
	bucket int       // split buckets above this many leaves
	stats  *counters // nil: not counted

	mu    sync.Mutex
	owned map[*rnode][]leaf // buckets made by this update (nil: read only)
	// warm, when set, receives a copy of every bucket makeBuckets makes
	// while it has room (a bulk load fills the cache as it builds).
	warm *bucketCache
}

// newBucket makes the bucket of ls (sorted leaves under one prefix at
// depth), and caches a copy of them if c warms a cache that has room.
func (c *trieCtx) newBucket(ls []leaf, depth int) *rnode {
	n := &rnode{d: build(ls, depth)}
	if c.warm != nil {
		c.warm.fill(&n.d, ls)
	}
	return n
}

func (c *trieCtx) ownedLeaves(n *rnode) ([]leaf, bool) {
	if c.owned == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ls, ok := c.owned[n]
	return ls, ok
}

func (c *trieCtx) count(read bool) {
	switch {
	case c.stats == nil:
	case read:
		c.stats.bucketReads.Add(1)
	default:
		c.stats.bucketHits.Add(1)
	}
}

// scanner reads bucket leaves with one Badger iterator (not safe for
// concurrent use; each goroutine has its own).
type scanner struct {
	c  *trieCtx
	it *badger.Iterator
}

func (c *trieCtx) newScanner() *scanner { return &scanner{c: c} }

func (sc *scanner) close() {
	if sc.it != nil {
		sc.it.Close()
		sc.it = nil
	}
}

// leaves returns the leaves of bucket n, at depth with the path prefix of
// path, sorted by path. The slice must not be modified.
func (sc *scanner) leaves(n *rnode, depth int, path *[pathSize]byte) ([]leaf, error) {
	if n.d.count() == 0 {
		return nil, nil
	}
	if ls, ok := sc.c.ownedLeaves(n); ok {
		sc.c.count(false)
		return ls, nil
	}
	if ls, ok := sc.c.cache.get(&n.d); ok {
		sc.c.count(false)
		return ls, nil
	}
	sc.c.count(true)
	if sc.it == nil {
		sc.it = sc.c.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
	}
	start := make([]byte, len(prefixLeaf)+pathSize)
	copy(start, prefixLeaf)
	copy(start[len(prefixLeaf):], path[:(depth+7)/8])
	if r := depth % 8; r != 0 {
		start[len(prefixLeaf)+depth/8] &= byte(0xff << (8 - r))
	}
	want := int(n.d.count())
	ls := make([]leaf, 0, want)
	for sc.it.Seek(start); sc.it.Valid(); sc.it.Next() {
		item := sc.it.Item()
		k := item.Key()
		if !bytes.HasPrefix(k, prefixLeaf) || !samePrefix(k[len(prefixLeaf):], path[:], depth) {
			break
		}
		var l leaf
		err := item.Value(func(v []byte) error {
			var err error
			l, err = decodeLeaf(k, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		if len(ls) > want {
			break
		}
	}
	if len(ls) != want || build(ls, depth) != n.d {
		return nil, fmt.Errorf("store: trie bucket at depth %d (%x) has %d leaves that do not match its digest %x (count %d)",
			depth, path[:(depth+7)/8], len(ls), n.d[:], want)
	}
	sc.c.cache.put(&n.d, ls)
	return ls, nil
}

// makeBuckets returns the subtrie at depth holding ls (sorted), split into
// buckets of at most c.bucket leaves, recording their leaves as owned
// (unless c.owned is nil).
func (c *trieCtx) makeBuckets(ls []leaf, depth int) *rnode {
	if len(ls) <= c.bucket || depth == pathSize*8 {
		n := c.newBucket(ls, depth)
		if c.owned != nil {
			c.mu.Lock()
			c.owned[n] = ls
			c.mu.Unlock()
		}
		return n
	}
	i := splitLeaves(ls, depth)
	if depth < parallelDepth && i >= parallelMinOps && len(ls)-i >= parallelMinOps {
		var l *rnode
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			l = c.makeBuckets(ls[:i], depth+1)
		}()
		r := c.makeBuckets(ls[i:], depth+1)
		wg.Wait()
		return newInner(l, r)
	}
	return newInner(c.makeBuckets(ls[:i], depth+1), c.makeBuckets(ls[i:], depth+1))
}

// update applies chs (sorted by path, all under n's prefix) to the subtrie
// n at depth and returns the new subtrie; n is not modified.
func (c *trieCtx) update(n *rnode, depth int, chs []lchange, sc *scanner) (*rnode, error) {
	if len(chs) == 0 {
		return n, nil
	}
	if n.bucket() {
		ls, err := sc.leaves(n, depth, &chs[0].path)
		if err != nil {
			return nil, err
		}
		return c.makeBuckets(mergeLeaves(ls, chs), depth), nil
	}
	i := sort.Search(len(chs), func(i int) bool { return bit(&chs[i].path, depth) == 1 })
	var l, r *rnode
	var lerr, rerr error
	if depth < parallelDepth && i >= parallelMinOps && len(chs)-i >= parallelMinOps {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc2 := c.newScanner()
			defer sc2.close()
			l, lerr = c.update(n.left, depth+1, chs[:i], sc2)
		}()
		r, rerr = c.update(n.right, depth+1, chs[i:], sc)
		wg.Wait()
	} else {
		l, lerr = c.update(n.left, depth+1, chs[:i], sc)
		if lerr == nil {
			r, rerr = c.update(n.right, depth+1, chs[i:], sc)
		}
	}
	if lerr != nil {
		return nil, lerr
	}
	if rerr != nil {
		return nil, rerr
	}
	// Join two small buckets again (records were deleted).
	if l.bucket() && r.bucket() && l.d.count()+r.d.count() <= uint64(c.bucket/2) {
		var path [pathSize]byte
		path = chs[0].path
		ll, err := sc.leaves(l, depth+1, withBit(&path, depth, 0))
		if err != nil {
			return nil, err
		}
		rl, err := sc.leaves(r, depth+1, withBit(&path, depth, 1))
		if err != nil {
			return nil, err
		}
		return c.makeBuckets(append(append(make([]leaf, 0, len(ll)+len(rl)), ll...), rl...), depth), nil
	}
	return newInner(l, r), nil
}

func withBit(p *[pathSize]byte, i, b int) *[pathSize]byte {
	q := *p
	if b == 1 {
		q[i/8] |= 1 << (7 - uint(i)%8)
	} else {
		q[i/8] &^= 1 << (7 - uint(i)%8)
	}
	return &q
}

// prove collects the proof of path in the trie rooted at n: the side
// digests from the top down and the leaf where the path ends (nil if it
// ends in an empty subtrie).
func (sc *scanner) prove(n *rnode, path *[pathSize]byte) (sides []digest, end *leaf, err error) {
	depth := 0
	for !n.bucket() && n.d.count() >= 2 {
		if bit(path, depth) == 0 {
			sides = append(sides, n.right.d)
			n = n.left
		} else {
			sides = append(sides, n.left.d)
			n = n.right
		}
		depth++
	}
	switch n.d.count() {
	case 0:
		return sides, nil, nil
	case 1:
		// The single leaf below n: follow the non-empty side to its bucket.
		p := *path
		for !n.bucket() {
			if n.left.d.count() == 1 {
				n, p = n.left, *withBit(&p, depth, 0)
			} else {
				n, p = n.right, *withBit(&p, depth, 1)
			}
			depth++
		}
		ls, err := sc.leaves(n, depth, &p)
		if err != nil {
			return nil, nil, err
		}
		return sides, &ls[0], nil
	}
	ls, err := sc.leaves(n, depth, path)
	if err != nil {
		return nil, nil, err
	}
	for len(ls) >= 2 {
		i := splitLeaves(ls, depth)
		if bit(path, depth) == 0 {
			sides = append(sides, build(ls[i:], depth+1))
			ls = ls[:i]
		} else {
			sides = append(sides, build(ls[:i], depth+1))
			ls = ls[i:]
		}
		depth++
	}
	if len(ls) == 1 {
		end = &ls[0]
	}
	return sides, end, nil
}

// rebuild builds the upper trie from all leaves in Badger (txn's view).
// It reads the parts of the path space in parallel.
func rebuild(txn *badger.Txn, bucket int, warm *bucketCache) (*rnode, error) {
	c := &trieCtx{txn: txn, bucket: bucket, warm: warm}
	var zero [pathSize]byte
	return c.rebuildAt(0, &zero)
}

func (c *trieCtx) rebuildAt(depth int, prefix *[pathSize]byte) (*rnode, error) {
	rb := &rebuilder{c: c, depth: depth, prefix: *prefix}
	defer rb.close()
	return rb.build(depth, prefix)
}

// rebuilder reads the leaves under one prefix in path order, with a
// lookahead buffer to decide between a bucket and a split.
type rebuilder struct {
	c      *trieCtx
	depth  int
	prefix [pathSize]byte
	it     *badger.Iterator
	ahead  []leaf
	done   bool
}

func (rb *rebuilder) close() {
	if rb.it != nil {
		rb.it.Close()
	}
}

// peek returns the leaves under prefix (depth bits) up to n of them,
// without consuming them.
func (rb *rebuilder) peek(depth int, prefix *[pathSize]byte, n int) ([]leaf, error) {
	for {
		m := 0
		for m < len(rb.ahead) && m < n && samePrefix(rb.ahead[m].path[:], prefix[:], depth) {
			m++
		}
		if m == n || m < len(rb.ahead) || rb.done {
			return rb.ahead[:m], nil
		}
		// Everything buffered is under prefix: read up to n.
		for len(rb.ahead) < n && !rb.done {
			if err := rb.fill(); err != nil {
				return nil, err
			}
			if k := len(rb.ahead); k > 0 && !samePrefix(rb.ahead[k-1].path[:], prefix[:], depth) {
				break
			}
		}
	}
}

func (rb *rebuilder) fill() error {
	if rb.it == nil {
		rb.it = rb.c.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		start := make([]byte, len(prefixLeaf)+pathSize)
		copy(start, prefixLeaf)
		copy(start[len(prefixLeaf):], rb.prefix[:])
		rb.it.Seek(start)
	} else {
		rb.it.Next()
	}
	if !rb.it.Valid() {
		rb.done = true
		return nil
	}
	item := rb.it.Item()
	k := item.Key()
	if !bytes.HasPrefix(k, prefixLeaf) || !samePrefix(k[len(prefixLeaf):], rb.prefix[:], rb.depth) {
		rb.done = true
		return nil
	}
	return item.Value(func(v []byte) error {
		l, err := decodeLeaf(k, v)
		if err == nil {
			rb.ahead = append(rb.ahead, l)
		}
		return err
	})
}

func (rb *rebuilder) build(depth int, prefix *[pathSize]byte) (*rnode, error) {
	ls, err := rb.peek(depth, prefix, rb.c.bucket+1)
	if err != nil {
		return nil, err
	}
	if len(ls) <= rb.c.bucket || depth == pathSize*8 {
		n := rb.c.newBucket(ls, depth)
		rb.ahead = rb.ahead[len(ls):]
		if len(rb.ahead) == 0 {
			rb.ahead = nil // let the backing array go
		}
		return n, nil
	}
	lp, rp := withBit(prefix, depth, 0), withBit(prefix, depth, 1)
	if depth < parallelDepth {
		// Each half with its own iterator.
		var (
			l    *rnode
			lerr error
			wg   sync.WaitGroup
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, lerr = rb.c.rebuildAt(depth+1, lp)
		}()
		r, rerr := rb.c.rebuildAt(depth+1, rp)
		wg.Wait()
		if lerr != nil {
			return nil, lerr
		}
		if rerr != nil {
			return nil, rerr
		}
		return newInner(l, r), nil
	}
	l, err := rb.build(depth+1, lp)
	if err != nil {
		return nil, err
	}
	r, err := rb.build(depth+1, rp)
	if err != nil {
		return nil, err
	}
	return newInner(l, r), nil
}
