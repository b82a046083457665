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

	badger "github.com/dgraph-io/badger/v4"
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
