package store

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Bulk loads a large state into an empty store (height 0) much faster than
// blocks would: records and their trie leaves are gathered outside Badger,
// the trie is built once from the leaves at the end, both are written to
// Badger in key order at Commit, and only then are m/height and m/root
// written (the commit point). State sync (ImportRecords) and benchmark
// pre-fills use it.
//
// Each Flush sorts the records set since the one before into a run (the
// last write of a key wins, a delete is kept to hide older runs' writes),
// written in the background to a temporary file of the store (in-memory
// stores keep their runs in memory); Get searches the runs, newest first,
// through a Bloom filter and a sparse index of each. The leaves are kept
// per first path byte (about 110 bytes per record in memory, spilled to
// temporary files beyond leafPartsMemory). Commit merges the runs and
// writes the leaves and records, which are then in key order, with
// Badger's StreamWriter straight into the LSM tree's last level: no
// memtable, no compaction. The StreamWriter drops everything in the
// database first, so it is only used when Badger holds nothing at all (a
// store that has anything falls back to write batches).
//
// Until Commit nothing is visible to readers of the store, and a crash
// leaves records without a committed height, which Open removes. A Bulk
// holds the store's commit lock until Commit or Discard.
type Bulk struct {
	s       *Store
	buf     []op // record writes since the last Flush, in call order
	bufSize int
	leaves  *leafParts // leaf changes, written by Commit
	runs    []*bulkRun // the records of each Flush, oldest first
	written bloomSet   // record keys written: most Gets are of absent keys
	err     error
	done    bool
	oldSnap *snapshot // the snapshot moveReadTs replaced, if it did

	// The run in flight: handed over by the last Flush and sorted and
	// written in the background while the caller goes on. Get reads its
	// keys from inFlight until it is done.
	inFlight     map[string]op
	inFlightDone chan bulkRunResult // nil if none
}

type bulkRunResult struct {
	run *bulkRun
	err error
}

// bulkBuffer is how many bytes of writes a Bulk gathers before it makes
// them a run (an automatic Flush).
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
	b := &Bulk{s: s, leaves: newLeafParts(s.dir)}
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
	if err := b.moveReadTs(); err != nil {
		b.Discard()
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	return b, nil
}

// moveReadTs readies a new store for the StreamWriter. Its entries need a
// version of at least 1 (Badger's point reads miss version 0), equal to
// the read timestamp of every transaction open when it flushes (its Flush
// restarts Badger's timestamps from that version, and a transaction that
// reads at an older one must not end after that). A new store reads at 0:
// a transaction that deletes the absent m/height moves it to 1, and
// readers get a snapshot at the new timestamp; the old snapshot's
// transaction ends with its last reader, which Commit checks.
func (b *Bulk) moveReadTs() error {
	s := b.s
	s.mu.Lock()
	old := s.snap
	s.mu.Unlock()
	if old.txn.ReadTs() != 0 {
		return nil
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyHeight) }); err != nil {
		return err
	}
	s.publish(old.height, old.root, old.trie)
	b.oldSnap = old
	return nil
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

func (b *Bulk) add(o op) error {
	b.buf = append(b.buf, o)
	b.bufSize += len(o.key) + len(o.val) + 32
	if b.bufSize >= bulkBuffer {
		return b.Flush()
	}
	return nil
}

// wait waits for the run in flight and adds it to the runs.
func (b *Bulk) wait() error {
	if b.inFlightDone == nil {
		return nil
	}
	res := <-b.inFlightDone
	b.inFlightDone, b.inFlight = nil, nil
	if res.run != nil {
		b.runs = append(b.runs, res.run)
	}
	if res.err != nil && b.err == nil {
		b.err = fmt.Errorf("store: bulk load: %w", res.err)
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
	rk := recordKey(key)
	if o, ok := b.inFlight[string(rk)]; ok {
		if o.del {
			return nil, nil
		}
		value, _, err := decodeRecord(o.val)
		return bytes.Clone(value), err
	}
	for i := len(b.runs) - 1; i >= 0; i-- {
		raw, del, found, err := b.runs[i].get(rk)
		if err != nil {
			b.err = fmt.Errorf("store: bulk load: %w", err)
			return nil, b.err
		}
		if found {
			if del {
				return nil, nil
			}
			value, _, err := decodeRecord(raw)
			return value, err
		}
	}
	return nil, nil
}

// Flush makes everything set so far a run, sorted and written in the
// background while the caller goes on (it first waits for the run handed
// over by the Flush before). Get sees it from now on.
func (b *Bulk) Flush() error {
	if err := b.check(); err != nil {
		return err
	}
	if err := b.wait(); err != nil {
		return err
	}
	if len(b.buf) == 0 {
		return nil
	}
	dir := ""
	if b.s.dir != "" {
		var err error
		if dir, err = b.leaves.tempDir(); err != nil {
			b.err = fmt.Errorf("store: bulk load: %w", err)
			return b.err
		}
	}
	ops := b.buf
	b.buf, b.bufSize = nil, 0
	b.inFlight = make(map[string]op, len(ops))
	for _, o := range ops {
		b.inFlight[string(o.key)] = o
	}
	done := make(chan bulkRunResult, 1)
	b.inFlightDone = done
	name := ""
	if dir != "" {
		name = filepath.Join(dir, "r"+strconv.Itoa(len(b.runs)))
	}
	go func() {
		r, err := newBulkRun(ops, name)
		done <- bulkRunResult{r, err}
	}()
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
	sink, err := b.newSink()
	if err != nil {
		b.Discard()
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	trie, err := b.writeLeaves(sink)
	if err != nil {
		sink.cancel()
		b.Discard()
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	root := bytes.Clone(trie.d[:])
	if wantRoot != nil && !bytes.Equal(root, wantRoot) {
		sink.cancel()
		b.Discard()
		return nil, fmt.Errorf("store: imported records give root %x, want %x", root, wantRoot)
	}
	if err := hook(hookMidBulk); err != nil {
		sink.cancel()
		b.fail(err)
		return nil, err
	}
	if err := b.writeRecords(sink); err != nil {
		sink.cancel()
		err = fmt.Errorf("store: bulk load: %w", err)
		b.fail(err)
		return nil, err
	}
	if err := sink.flush(); err != nil {
		err = fmt.Errorf("store: bulk load: %w", err)
		b.fail(err)
		return nil, err
	}
	if err := hook(hookBulkWritten); err != nil {
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

// writeRecords merges the runs (the newest write of a key wins; deleted
// keys are left out) and writes the records in key order.
func (b *Bulk) writeRecords(sink bulkSink) error {
	m, err := newRunMerge(b.runs)
	if err != nil {
		return err
	}
	for {
		key, val, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if err := sink.set(streamRecords, key, val); err != nil {
			return err
		}
	}
}

// writeLeaves writes the final leaves (the last change of each path wins)
// in path order, one part (first path byte) at a time, and builds the trie
// from them: each part's subtrie at depth 8, then the levels above.
func (b *Bulk) writeLeaves(sink bulkSink) (*rnode, error) {
	c := &trieCtx{bucket: b.s.bucket, warm: b.s.cache}
	var nodes [256]*rnode
	var small [256][]leaf // parts of at most c.bucket leaves
	for p := 0; p < 256; p++ {
		ls, err := b.leaves.final(p)
		if err != nil {
			return nil, err
		}
		for i := range ls {
			if err := sink.set(streamLeaves, leafKey(&ls[i].path), ls[i].encodeValue()); err != nil {
				return nil, err
			}
		}
		if len(ls) <= c.bucket {
			small[p] = ls
		} else {
			nodes[p] = c.makeBuckets(ls, 8)
		}
	}
	b.leaves.closeLeaves()
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

// tempDir returns the bulk load's temporary directory in the store, made
// on first use; it holds the spilled leaves and the record runs.
func (lp *leafParts) tempDir() (string, error) {
	if lp.tmp == "" {
		dir, err := os.MkdirTemp(lp.dir, bulkTempPrefix)
		if err != nil {
			return "", err
		}
		lp.tmp = dir
	}
	return lp.tmp, nil
}

func (lp *leafParts) spill() error {
	if _, err := lp.tempDir(); err != nil {
		return err
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

// closeLeaves removes the spilled leaves and frees the ones in memory.
func (lp *leafParts) closeLeaves() {
	for p, f := range lp.files {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
			lp.files[p] = nil
		}
	}
	lp.mem = [256][]lchange{}
}

// close removes the temporary directory (leaves and record runs).
func (lp *leafParts) close() {
	lp.closeLeaves()
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
	for _, r := range b.runs {
		r.close()
	}
	b.runs = nil
	b.leaves.close()
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

// newBloom returns a filter for max keys (10 bits a key: about 1 % false
// positives).
func newBloom(max int) *bloom {
	return &bloom{bits: make([]uint64, max*10/64+1), max: max}
}

func (f *bloom) add(h1, h2 uint64) {
	m := uint64(len(f.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		p := (h1 + i*h2) % m
		f.bits[p/64] |= 1 << (p % 64)
	}
	f.n++
}

func (f *bloom) has(h1, h2 uint64) bool {
	m := uint64(len(f.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		p := (h1 + i*h2) % m
		if f.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

func (s *bloomSet) add(key []byte) {
	if len(s.filters) == 0 || s.filters[len(s.filters)-1].n >= s.filters[len(s.filters)-1].max {
		max := 1 << 20
		if len(s.filters) > 0 {
			max = 2 * s.filters[len(s.filters)-1].max
		}
		s.filters = append(s.filters, newBloom(max))
	}
	s.filters[len(s.filters)-1].add(bloomHash(key))
}

func (s *bloomSet) has(key []byte) bool {
	h1, h2 := bloomHash(key)
	for _, f := range s.filters {
		if f.has(h1, h2) {
			return true
		}
	}
	return false
}

func bloomHash(key []byte) (uint64, uint64) {
	h := xxhash.Sum64(key)
	return h, (h>>32 | h<<32) | 1
}

// bulkRun is the records of one Flush sorted by key, each key once (its
// last write there), deletes included. On disk it is a file of entries
// (key length, key, value length*2 + deleted, value; lengths as uvarints)
// with every bulkRunIndexEvery-th entry's key and offset in memory; an
// in-memory store keeps the entries themselves.
type bulkRun struct {
	ops   []op     // in-memory stores
	f     *os.File // on disk
	size  int64
	index []bulkRunMark
	keys  *bloom // the run's keys: Get skips the runs without its key
}

type bulkRunMark struct {
	key []byte
	off int64
}

const bulkRunIndexEvery = 64

// newBulkRun sorts ops (the last write of a key wins) and, if name is not
// "", writes them to that file.
func newBulkRun(ops []op, name string) (*bulkRun, error) {
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
	sorted := make([]op, 0, len(idx))
	for j, i := range idx {
		if j+1 < len(idx) && bytes.Equal(ops[idx[j+1]].key, ops[i].key) {
			continue // a later write of the same key wins
		}
		sorted = append(sorted, ops[i])
	}
	r := &bulkRun{keys: newBloom(len(sorted))}
	for i := range sorted {
		r.keys.add(bloomHash(sorted[i].key))
	}
	if name == "" {
		r.ops = sorted
		return r, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	r.f = f
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for i := range sorted {
		o := &sorted[i]
		if i%bulkRunIndexEvery == 0 {
			r.index = append(r.index, bulkRunMark{key: o.key, off: r.size})
		}
		buf = appendRunEntry(buf[:0], o)
		if _, err := w.Write(buf); err != nil {
			r.close()
			return nil, err
		}
		r.size += int64(len(buf))
	}
	if err := w.Flush(); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func appendRunEntry(b []byte, o *op) []byte {
	b = binary.AppendUvarint(b, uint64(len(o.key)))
	b = append(b, o.key...)
	if o.del {
		return binary.AppendUvarint(b, 1)
	}
	b = binary.AppendUvarint(b, uint64(len(o.val))<<1)
	return append(b, o.val...)
}

// parseRunEntry reads the entry at the start of b and returns it and its
// size; key and val alias b.
func parseRunEntry(b []byte) (op, int, error) {
	var o op
	kl, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < kl {
		return o, 0, errors.New("bulk record run is corrupt")
	}
	o.key = b[n : n+int(kl)]
	pos := n + int(kl)
	vl, n := binary.Uvarint(b[pos:])
	if n <= 0 || uint64(len(b)-pos-n) < vl>>1 {
		return o, 0, errors.New("bulk record run is corrupt")
	}
	pos += n
	o.del = vl&1 == 1
	o.val = b[pos : pos+int(vl>>1)]
	return o, pos + int(vl>>1), nil
}

// get returns the run's entry of key (a record key), if it has one.
func (r *bulkRun) get(key []byte) (val []byte, del, found bool, err error) {
	if !r.keys.has(bloomHash(key)) {
		return nil, false, false, nil
	}
	if r.f == nil {
		i, ok := slices.BinarySearchFunc(r.ops, key, func(o op, k []byte) int { return bytes.Compare(o.key, k) })
		if !ok {
			return nil, false, false, nil
		}
		return r.ops[i].val, r.ops[i].del, true, nil
	}
	// The last mark at or before key starts the block that may hold it.
	i, _ := slices.BinarySearchFunc(r.index, key, func(m bulkRunMark, k []byte) int {
		if bytes.Compare(m.key, k) <= 0 {
			return -1
		}
		return 1
	})
	if i == 0 {
		return nil, false, false, nil
	}
	start, end := r.index[i-1].off, r.size
	if i < len(r.index) {
		end = r.index[i].off
	}
	block := make([]byte, end-start)
	if _, err := r.f.ReadAt(block, start); err != nil {
		return nil, false, false, err
	}
	for len(block) > 0 {
		o, n, err := parseRunEntry(block)
		if err != nil {
			return nil, false, false, err
		}
		if c := bytes.Compare(o.key, key); c >= 0 {
			if c > 0 {
				break
			}
			return bytes.Clone(o.val), o.del, true, nil
		}
		block = block[n:]
	}
	return nil, false, false, nil
}

func (r *bulkRun) close() {
	if r.f != nil {
		r.f.Close()
		os.Remove(r.f.Name())
		r.f = nil
	}
	r.ops, r.index = nil, nil
}

// runReader reads one run's entries in order.
type runReader struct {
	run  int // the run's place: a later run's write of a key wins
	ops  []op
	r    *bufio.Reader
	left int64 // bytes of the file not read yet
	cur  op
}

func (rr *runReader) next() (bool, error) {
	if rr.r == nil {
		if len(rr.ops) == 0 {
			return false, nil
		}
		rr.cur, rr.ops = rr.ops[0], rr.ops[1:]
		return true, nil
	}
	if rr.left == 0 {
		return false, nil
	}
	kl, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, err
	}
	key := make([]byte, kl)
	if _, err := io.ReadFull(rr.r, key); err != nil {
		return false, err
	}
	vl, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, err
	}
	val := make([]byte, vl>>1)
	if _, err := io.ReadFull(rr.r, val); err != nil {
		return false, err
	}
	rr.cur = op{key: key, val: val, del: vl&1 == 1}
	rr.left -= int64(uvarintLen(kl) + len(key) + uvarintLen(vl) + len(val))
	if rr.left < 0 {
		return false, errors.New("bulk record run is corrupt")
	}
	return true, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// runMerge merges runs into one sequence in key order.
type runMerge []*runReader

func (h runMerge) Len() int { return len(h) }
func (h runMerge) Less(i, j int) bool {
	if c := bytes.Compare(h[i].cur.key, h[j].cur.key); c != 0 {
		return c < 0
	}
	return h[i].run > h[j].run
}
func (h runMerge) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runMerge) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runMerge) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newRunMerge(runs []*bulkRun) (*runMerge, error) {
	h := &runMerge{}
	for i, r := range runs {
		rr := &runReader{run: i, ops: r.ops}
		if r.f != nil {
			rr.r = bufio.NewReaderSize(io.NewSectionReader(r.f, 0, r.size), 256<<10)
			rr.left = r.size
		}
		ok, err := rr.next()
		if err != nil {
			return nil, err
		}
		if ok {
			*h = append(*h, rr)
		}
	}
	heap.Init(h)
	return h, nil
}

// next returns the next key and its newest value, skipping deleted keys;
// ok is false at the end.
func (h *runMerge) next() (key, val []byte, ok bool, err error) {
	for h.Len() > 0 {
		top := (*h)[0].cur
		// Skip the key's older writes, in the other runs.
		for h.Len() > 0 && bytes.Equal((*h)[0].cur.key, top.key) {
			more, err := (*h)[0].next()
			if err != nil {
				return nil, nil, false, err
			}
			if more {
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
		}
		if !top.del {
			return top.key, top.val, true, nil
		}
	}
	return nil, nil, false, nil
}

// The streams of a bulk load's StreamWriter: their key ranges must not
// overlap, and each one's keys must come in order.
const (
	streamLeaves  uint32 = 1 // l/...
	streamRecords uint32 = 2 // r/...
)

// bulkSink is where Commit writes the leaves and records, each stream in
// key order.
type bulkSink interface {
	set(stream uint32, key, val []byte) error
	flush() error // everything written and durable
	cancel()
}

// newSink returns a StreamWriter sink if Badger holds nothing at all (its
// Prepare drops everything) and every open read transaction reads at the
// same timestamp, not 0 (see moveReadTs); otherwise one of write batches.
func (b *Bulk) newSink() (bulkSink, error) {
	db := b.s.db
	txn := db.NewTransaction(false)
	it := txn.NewIterator(badger.IteratorOptions{})
	it.Rewind()
	empty := !it.Valid()
	it.Close()
	readTs := txn.ReadTs()
	txn.Discard()
	b.s.mu.Lock()
	same := b.s.snap.txn.ReadTs() == readTs && (b.oldSnap == nil || b.oldSnap.refs == 0)
	b.s.mu.Unlock()
	if !empty || !same || readTs == 0 {
		return &batchSink{wb: db.NewWriteBatch()}, nil
	}
	sw := db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		sw.Cancel()
		return nil, err
	}
	return &streamSink{sw: sw, buf: z.NewBuffer(streamBatch+(1<<20), "store.bulk"), version: readTs}, nil
}

// streamBatch is how many bytes of entries a streamSink hands to the
// StreamWriter at a time.
const streamBatch = 16 << 20

// streamSink writes through Badger's StreamWriter: sorted tables straight
// into the last level. The entries get the version of the open read
// transactions (see moveReadTs).
type streamSink struct {
	sw      *badger.StreamWriter
	buf     *z.Buffer
	kv      pb.KV
	version uint64
}

func (k *streamSink) set(stream uint32, key, val []byte) error {
	k.kv = pb.KV{Key: key, Value: val, Version: k.version, StreamId: stream}
	badger.KVToBuffer(&k.kv, k.buf)
	if k.buf.LenNoPadding() >= streamBatch {
		return k.write()
	}
	return nil
}

func (k *streamSink) write() error {
	err := k.sw.Write(k.buf)
	k.buf.Reset()
	return err
}

func (k *streamSink) flush() error {
	err := k.write()
	if err == nil {
		err = k.sw.Flush()
	} else {
		k.sw.Cancel()
	}
	k.release()
	return err
}

func (k *streamSink) cancel() {
	k.sw.Cancel()
	k.release()
}

func (k *streamSink) release() {
	if k.buf != nil {
		k.buf.Release() //nolint:errcheck // memory only
		k.buf = nil
	}
}

// batchSink writes through a Badger WriteBatch (a store that is not empty).
type batchSink struct{ wb *badger.WriteBatch }

func (k *batchSink) set(_ uint32, key, val []byte) error { return k.wb.Set(key, val) }
func (k *batchSink) flush() error                        { return k.wb.Flush() }
func (k *batchSink) cancel()                             { k.wb.Cancel() }
