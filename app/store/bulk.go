package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
)

// Bulk loads a large state into an empty store (height 0) much faster than
// blocks would: records and their trie leaves are written straight to
// Badger in large batches, the trie is built once from the leaves at the
// end, and only then are m/height and m/root written (the commit point).
// State sync (ImportRecords) and benchmark pre-fills use it.
//
// The records go to Badger as they come (sorted in batches); the leaves
// are kept in memory (about 110 bytes per record) and written, sorted, by
// Commit, which builds the trie from them directly.
//
// Until Commit nothing is visible to readers of the store, and a crash
// leaves records without a committed height, which Open removes. A Bulk
// holds the store's commit lock until Commit or Discard.
type Bulk struct {
	s       *Store
	txn     *badger.Txn // reads: what was written before the batch in flight
	buf     []op        // record writes not yet handed to Badger, in call order
	bufSize int
	leaves  *leafParts // leaf changes, written by Commit
	written bloomSet   // record keys written: most Gets are of absent keys
	err     error
	done    bool

	// The batch in flight: handed to Badger by the last Flush and written
	// in the background while the caller goes on (the caller's work and
	// Badger's writes overlap instead of taking turns). Get reads its
	// keys from inFlight until it is written.
	inFlight     map[string]op
	inFlightDone chan error // the background write's result; nil if none
}

// bulkBuffer is how many bytes of writes a Bulk sorts before handing them
// to Badger: sorted inserts into Badger's skiplist memtable are much
// cheaper than random ones.
const bulkBuffer = 64 << 20

// Bulk starts a bulk load into the store, which must have no committed
// block. If st is not nil its records (e.g. a genesis state staged by
// InitChain) are loaded first and st is consumed.
func (s *Store) Bulk(st *Stage) (*Bulk, error) {
	s.commitMu.Lock()
	err := func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.writableLocked(); err != nil {
			return err
		}
		switch {
		case s.snap.height != 0 || !bytes.Equal(s.snap.root, emptyRoot()):
			return fmt.Errorf("store: bulk load into a non-empty store (height %d)", s.snap.height)
		case st != nil && (st.s != s || st.err != nil || st.base != s.snap):
			return errors.New("store: bulk load: unusable stage")
		}
		return nil
	}()
	if err != nil {
		s.commitMu.Unlock()
		return nil, err
	}
	b := &Bulk{s: s, txn: s.db.NewTransaction(false), leaves: newLeafParts(s.dir)}
	if st != nil {
		for k, r := range st.recs {
			if !r.deleted {
				if err := b.Set([]byte(k), r.value, r.weight); err != nil {
					b.Discard()
					return nil, err
				}
			}
		}
		st.Discard()
		if err := b.Flush(); err != nil {
			b.Discard()
			return nil, err
		}
	}
	return b, nil
}

func (b *Bulk) check() error {
	if b.done {
		return errors.New("store: bulk load finished")
	}
	return b.err
}

// Set writes key = value with weight (the last write of a key wins).
func (b *Bulk) Set(key, value []byte, weight uint64) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes for %q", ErrValueTooLarge, len(value), key)
	}
	b.written.add(key)
	if err := b.leaves.add(lchange{leaf: newLeaf(key, value, weight)}); err != nil {
		b.err = fmt.Errorf("store: bulk load: %w", err)
		return b.err
	}
	return b.add(op{key: recordKey(key), val: encodeRecord(value, weight)})
}

func (b *Bulk) add(ops ...op) error {
	for _, o := range ops {
		b.buf = append(b.buf, o)
		b.bufSize += len(o.key) + len(o.val) + 32
	}
	if b.bufSize >= bulkBuffer {
		return b.Flush()
	}
	return nil
}

// writeSorted writes ops to Badger in key order (the last write of a key
// last) with one WriteBatch and waits until they are written.
func writeSorted(db *badger.DB, ops []op) error {
	idx := make([]int32, len(ops))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if c := bytes.Compare(ops[x].key, ops[y].key); c != 0 {
			return c
		}
		return int(x - y)
	})
	wb := db.NewWriteBatch()
	defer wb.Cancel() // no-op after Flush
	for _, i := range idx {
		if err := ops[i].apply(wb); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// wait waits for the batch in flight to be written.
func (b *Bulk) wait() error {
	if b.inFlightDone == nil {
		return nil
	}
	err := <-b.inFlightDone
	b.inFlightDone, b.inFlight = nil, nil
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("store: bulk load: %w", err)
	}
	return b.err
}

// Delete removes key.
func (b *Bulk) Delete(key []byte) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	ch := lchange{del: true}
	ch.path = sha256Path(string(key))
	if err := b.leaves.add(ch); err != nil {
		b.err = fmt.Errorf("store: bulk load: %w", err)
		return b.err
	}
	return b.add(op{key: recordKey(key), del: true})
}

// Get returns the value of key as written before the last Flush, or
// (nil, nil) if absent.
func (b *Bulk) Get(key []byte) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if !b.written.has(key) {
		return nil, nil
	}
	if o, ok := b.inFlight[string(recordKey(key))]; ok {
		if o.del {
			return nil, nil
		}
		value, _, err := decodeRecord(o.val)
		return bytes.Clone(value), err
	}
	raw, err := getValue(b.txn, recordKey(key))
	if err != nil || raw == nil {
		return nil, err
	}
	value, _, err := decodeRecord(raw)
	return value, err
}

// Flush hands everything set so far to Badger, to be written in the
// background while the caller goes on (it first waits for the batch handed
// over by the Flush before). Get sees it from now on.
func (b *Bulk) Flush() error {
	if err := b.check(); err != nil {
		return err
	}
	if err := b.wait(); err != nil {
		return err
	}
	// Everything before the batch handed over now is written: read it
	// through a fresh transaction.
	b.txn.Discard()
	b.txn = b.s.db.NewTransaction(false)
	if len(b.buf) == 0 {
		return nil
	}
	ops := b.buf
	b.buf, b.bufSize = nil, 0
	b.inFlight = make(map[string]op, len(ops))
	for _, o := range ops {
		b.inFlight[string(o.key)] = o
	}
	done := make(chan error, 1)
	b.inFlightDone = done
	db := b.s.db
	go func() { done <- writeSorted(db, ops) }()
	return nil
}

// Commit builds the trie from the loaded leaves and commits everything at
// height. If wantRoot is not nil and the root differs, everything loaded is
// removed again and Commit fails. It returns the root.
func (b *Bulk) Commit(height int64, wantRoot []byte) ([]byte, error) {
	if err := b.Flush(); err != nil {
		b.Discard()
		return nil, err
	}
	if err := b.wait(); err != nil {
		b.Discard()
		return nil, err
	}
	s := b.s
	if height <= 0 {
		b.Discard()
		return nil, fmt.Errorf("store: bulk commit at height %d", height)
	}
	trie, err := b.writeLeaves()
	if err != nil {
		b.Discard()
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	root := bytes.Clone(trie.d[:])
	if wantRoot != nil && !bytes.Equal(root, wantRoot) {
		b.Discard()
		return nil, fmt.Errorf("store: imported records give root %x, want %x", root, wantRoot)
	}
	if err := hook(hookMidBulk); err != nil {
		b.fail(err)
		return nil, err
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keyHeight, heightBytes(height)); err != nil {
			return err
		}
		return txn.Set(keyRoot, root)
	})
	if err != nil {
		err = fmt.Errorf("store: bulk commit: %w", err)
		b.fail(err)
		return nil, err
	}
	b.finish()
	s.publish(height, root, trie)
	s.committed()
	s.commitMu.Unlock()
	return root, nil
}

// writeLeaves writes the final leaves (the last change of each path wins)
// in path order, one part (first path byte) at a time, and builds the trie
// from them: each part's subtrie at depth 8, then the levels above.
func (b *Bulk) writeLeaves() (*rnode, error) {
	c := &trieCtx{bucket: b.s.bucket, warm: b.s.cache}
	wb := b.s.db.NewWriteBatch()
	defer wb.Cancel()
	var nodes [256]*rnode
	var small [256][]leaf // parts of at most c.bucket leaves
	for p := 0; p < 256; p++ {
		ls, err := b.leaves.final(p)
		if err != nil {
			return nil, err
		}
		for i := range ls {
			if err := wb.Set(leafKey(&ls[i].path), ls[i].encodeValue()); err != nil {
				return nil, err
			}
		}
		if len(ls) <= c.bucket {
			small[p] = ls
		} else {
			nodes[p] = c.makeBuckets(ls, 8)
		}
	}
	if err := wb.Flush(); err != nil {
		return nil, err
	}
	b.leaves.close()
	// The levels above the parts; a range of parts with few leaves in all
	// is one bucket.
	var top func(lo, hi, depth int) *rnode
	top = func(lo, hi, depth int) *rnode {
		n := 0
		for p := lo; p < hi && n <= c.bucket; p++ {
			if nodes[p] != nil {
				n = c.bucket + 1
			} else {
				n += len(small[p])
			}
		}
		if n <= c.bucket {
			var ls []leaf
			for p := lo; p < hi; p++ {
				ls = append(ls, small[p]...)
			}
			return c.makeBuckets(ls, depth)
		}
		if depth == 8 {
			return nodes[lo]
		}
		mid := (lo + hi) / 2
		return newInner(top(lo, mid, depth+1), top(mid, hi, depth+1))
	}
	return top(0, 256, 0), nil
}

// leafParts holds a bulk load's leaf changes split by the first path byte,
// in call order. Beyond leafPartsMemory it appends them to one file per
// part in a temporary directory of the store (in-memory stores keep them
// in memory).
type leafParts struct {
	dir   string // "" = keep in memory
	tmp   string // the temporary directory, once made
	mem   [256][]lchange
	n     int
	files [256]*os.File
}

// leafPartsMemory is how many leaf changes are held in memory (about
// 230 MB); a variable for tests.
var leafPartsMemory = 2 << 20

const (
	leafRecordSize = pathSize + 32 + 8 + 32 + 1
	bulkTempPrefix = "bulk-leaves-"
)

func newLeafParts(dir string) *leafParts { return &leafParts{dir: dir} }

func (lp *leafParts) add(ch lchange) error {
	p := ch.path[0]
	lp.mem[p] = append(lp.mem[p], ch)
	lp.n++
	if lp.n >= leafPartsMemory && lp.dir != "" {
		return lp.spill()
	}
	return nil
}

func (lp *leafParts) spill() error {
	if lp.tmp == "" {
		dir, err := os.MkdirTemp(lp.dir, bulkTempPrefix)
		if err != nil {
			return err
		}
		lp.tmp = dir
	}
	for p := range lp.mem {
		if len(lp.mem[p]) == 0 {
			continue
		}
		if lp.files[p] == nil {
			f, err := os.Create(filepath.Join(lp.tmp, strconv.Itoa(p)))
			if err != nil {
				return err
			}
			lp.files[p] = f
		}
		buf := make([]byte, 0, len(lp.mem[p])*leafRecordSize)
		for i := range lp.mem[p] {
			buf = appendLeafRecord(buf, &lp.mem[p][i])
		}
		if _, err := lp.files[p].Write(buf); err != nil {
			return err
		}
		lp.mem[p] = nil
	}
	lp.n = 0
	return nil
}

func appendLeafRecord(b []byte, ch *lchange) []byte {
	b = append(b, ch.path[:]...)
	b = append(b, ch.vhash[:]...)
	b = binary.BigEndian.AppendUint64(b, ch.weight)
	b = append(b, ch.lhash[:]...)
	if ch.del {
		return append(b, 1)
	}
	return append(b, 0)
}

// final returns part p's leaves sorted by path, the last change of each
// path winning, deleted ones left out.
func (lp *leafParts) final(p int) ([]leaf, error) {
	var chs []lchange
	if f := lp.files[p]; f != nil {
		raw, err := os.ReadFile(f.Name())
		if err != nil {
			return nil, err
		}
		if len(raw)%leafRecordSize != 0 {
			return nil, fmt.Errorf("bulk leaf file %s is truncated", f.Name())
		}
		chs = make([]lchange, 0, len(raw)/leafRecordSize+len(lp.mem[p]))
		for r := raw; len(r) > 0; r = r[leafRecordSize:] {
			var ch lchange
			copy(ch.path[:], r)
			copy(ch.vhash[:], r[pathSize:])
			ch.weight = binary.BigEndian.Uint64(r[pathSize+32:])
			copy(ch.lhash[:], r[pathSize+40:])
			ch.del = r[leafRecordSize-1] == 1
			chs = append(chs, ch)
		}
	}
	chs = append(chs, lp.mem[p]...)
	lp.mem[p] = nil
	idx := make([]int32, len(chs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if c := bytes.Compare(chs[x].path[:], chs[y].path[:]); c != 0 {
			return c
		}
		return int(x - y)
	})
	out := make([]leaf, 0, len(idx))
	for j, i := range idx {
		if j+1 < len(idx) && chs[idx[j+1]].path == chs[i].path {
			continue // a later change of the same path wins
		}
		if !chs[i].del {
			out = append(out, chs[i].leaf)
		}
	}
	return out, nil
}

// close removes the temporary files.
func (lp *leafParts) close() {
	for p, f := range lp.files {
		if f != nil {
			f.Close()
			lp.files[p] = nil
		}
	}
	if lp.tmp != "" {
		os.RemoveAll(lp.tmp)
		lp.tmp = ""
	}
	lp.mem = [256][]lchange{}
}

// fail marks the store failed (reopen it: Open removes the partial load).
func (b *Bulk) fail(err error) {
	b.s.mu.Lock()
	b.s.failed = err
	b.s.mu.Unlock()
	b.finish()
	b.s.commitMu.Unlock()
}

func (b *Bulk) finish() {
	b.wait() //nolint:errcheck // ending anyway; the background write must stop first
	b.done = true
	b.buf, b.written = nil, bloomSet{}
	b.leaves.close()
	b.txn.Discard()
}

// Discard removes everything loaded and ends the bulk load. It is a no-op
// after Commit.
func (b *Bulk) Discard() {
	if b.done {
		return
	}
	b.finish()
	if err := b.s.db.DropPrefix(prefixRecord, prefixLeaf); err != nil {
		b.s.mu.Lock()
		b.s.failed = fmt.Errorf("store: discard bulk load: %w", err)
		b.s.mu.Unlock()
	}
	b.s.commitMu.Unlock()
}

// bloomSet is a growing Bloom filter of keys (about 1 % false positives):
// a list of filters, each twice the size of the one before.
type bloomSet struct {
	filters []*bloom
}

type bloom struct {
	bits []uint64
	n    int // keys added
	max  int // keys it was sized for
}

const bloomHashes = 7

func (s *bloomSet) add(key []byte) {
	if len(s.filters) == 0 || s.filters[len(s.filters)-1].n >= s.filters[len(s.filters)-1].max {
		max := 1 << 20
		if len(s.filters) > 0 {
			max = 2 * s.filters[len(s.filters)-1].max
		}
		// 10 bits per key for 1 %.
		s.filters = append(s.filters, &bloom{bits: make([]uint64, max*10/64+1), max: max})
	}
	f := s.filters[len(s.filters)-1]
	h1, h2 := bloomHash(key)
	m := uint64(len(f.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		p := (h1 + i*h2) % m
		f.bits[p/64] |= 1 << (p % 64)
	}
	f.n++
}

func (s *bloomSet) has(key []byte) bool {
	h1, h2 := bloomHash(key)
	for _, f := range s.filters {
		m := uint64(len(f.bits) * 64)
		hit := true
		for i := uint64(0); i < bloomHashes && hit; i++ {
			p := (h1 + i*h2) % m
			hit = f.bits[p/64]&(1<<(p%64)) != 0
		}
		if hit {
			return true
		}
	}
	return false
}

func bloomHash(key []byte) (uint64, uint64) {
	h := xxhash.Sum64(key)
	return h, (h>>32 | h<<32) | 1
}
