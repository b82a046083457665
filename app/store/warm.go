package store

import (
	badger "github.com/dgraph-io/badger/v4"
)

// warmUp fills the bucket cache with the leaves of t's buckets, in path
// order, until the cache is full, stop is closed or every bucket is in:
// after an Open through the saved layer, which reads no leaf, it brings
// the cache to where a rebuild from the leaves would have left it, in the
// background. Each bucket's leaves are checked against its digest by the
// scanner before they are cached, so a damaged leaf is never cached (it
// is reported when a block or a proof reads its bucket). txn is a read
// transaction of the committed state t describes; warmUp discards it.
//
// The cache affects speed only: warming it changes no result.
func (s *Store) warmUp(txn *badger.Txn, t *rnode, stop <-chan struct{}) {
	defer txn.Discard()
	sc := &scanner{c: &trieCtx{txn: txn, bucket: s.bucket}}
	defer sc.close()
	var zero [pathSize]byte
	var walk func(n *rnode, depth int, prefix *[pathSize]byte) bool
	walk = func(n *rnode, depth int, prefix *[pathSize]byte) bool {
		select {
		case <-stop:
			return false
		default:
		}
		if !n.bucket() {
			return walk(n.left, depth+1, withBit(prefix, depth, 0)) && walk(n.right, depth+1, withBit(prefix, depth, 1))
		}
		ls, err := sc.leaves(n, depth, prefix)
		if err != nil {
			s.logf("store: warming the bucket cache stopped: %v", err)
			return false
		}
		return s.cache.fill(&n.d, ls)
	}
	walk(t, 0, &zero)
	s.warmed.Store(true)
}
