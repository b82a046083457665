package store

// The bulk loader's records before Commit (bulk.go): a Bloom filter of the
// keys set, and the sorted runs each Flush writes, read back by Bulk.Get and
// merged in key order by Commit.

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"

	"github.com/cespare/xxhash/v2"
)

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
