package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
)

// The saved bucket layer: Close writes the buckets of the committed upper
// trie (in path order: depth and digest of each) to Badger, so that the
// next Open rebuilds the trie from them, hashing only the inner nodes above
// the buckets, instead of reading and hashing every leaf.
//
//	t/h           header: version, height, root, bucket size, bucket count,
//	              chunk count, byte count, xxhash64 of the chunks, and an
//	              xxhash64 of the header itself
//	t/c<idx:4>    chunk idx: whole bucket entries, about layerChunkSize bytes,
//	              and an xxhash64 of them
//
// A bucket entry is uvarint depth, uvarint leaf count and, if the count is
// not zero, the 32-byte hash and the uvarint sum of its digest. The depths
// in path order determine the shape of the trie (every inner node has two
// children), so no paths are stored.
//
// Open uses the layer only if its header and chunks pass their checksums,
// it belongs to the committed height and root (after redo replay), it was
// made with the same BucketSize, and the inner nodes hashed from it give
// the committed root. Anything else (no layer, a stale one left by a crash
// after a commit, a corrupt one, another bucket size) makes Open rebuild
// the trie from the leaves as before, and delete the layer. The first
// commit after Open deletes the layer, since it no longer describes the
// committed block.

var (
	prefixLayer    = []byte("t/")
	keyLayerHeader = []byte("t/h")
)

const (
	layerVersion    = 1
	layerHeaderSize = 1 + 8 + RootSize + 4 + 8 + 4 + 8 + 8 + 8
	// layerChunkSize is the size of one chunk: large values go to Badger's
	// value log and cost little against its transaction limit.
	layerChunkSize = 4 << 20
	// layerEntryMax bounds one encoded bucket entry.
	layerEntryMax = 3*binary.MaxVarintLen64 + digestSize
	// layerParallelDepth: the subtries below this depth are hashed in
	// parallel (2^depth goroutines).
	layerParallelDepth = 4
)

func layerChunkKey(i int) []byte {
	k := append(append([]byte(nil), prefixLayer...), 'c', 0, 0, 0, 0)
	binary.BigEndian.PutUint32(k[len(k)-4:], uint32(i))
	return k
}

// layerChunkIndex returns the index of chunk key k.
func layerChunkIndex(k []byte) (int, bool) {
	if len(k) != len(prefixLayer)+5 || !bytes.HasPrefix(k, prefixLayer) || k[len(prefixLayer)] != 'c' {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(k[len(k)-4:])), true
}

// layerHeader describes a saved layer.
type layerHeader struct {
	height  int64
	root    []byte
	bucket  int
	buckets uint64 // bucket entries
	chunks  int
	bytes   uint64 // total chunk bytes
	sum     uint64 // xxhash64 of the chunks' bytes, in order
}

func (h *layerHeader) encode() []byte {
	b := make([]byte, 0, layerHeaderSize)
	b = append(b, layerVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(h.height))
	b = append(b, h.root...)
	b = binary.BigEndian.AppendUint32(b, uint32(h.bucket))
	b = binary.BigEndian.AppendUint64(b, h.buckets)
	b = binary.BigEndian.AppendUint32(b, uint32(h.chunks))
	b = binary.BigEndian.AppendUint64(b, h.bytes)
	b = binary.BigEndian.AppendUint64(b, h.sum)
	return binary.BigEndian.AppendUint64(b, xxhash.Sum64(b))
}

func decodeLayerHeader(b []byte) (layerHeader, error) {
	if len(b) != layerHeaderSize {
		return layerHeader{}, fmt.Errorf("header of %d bytes, want %d", len(b), layerHeaderSize)
	}
	body := b[:len(b)-8]
	if xxhash.Sum64(body) != binary.BigEndian.Uint64(b[len(body):]) {
		return layerHeader{}, errors.New("header checksum mismatch")
	}
	if body[0] != layerVersion {
		return layerHeader{}, fmt.Errorf("header version %d, want %d", body[0], layerVersion)
	}
	p := body[1:]
	h := layerHeader{height: int64(binary.BigEndian.Uint64(p))}
	p = p[8:]
	h.root = bytes.Clone(p[:RootSize])
	p = p[RootSize:]
	h.bucket = int(binary.BigEndian.Uint32(p))
	h.buckets = binary.BigEndian.Uint64(p[4:])
	h.chunks = int(binary.BigEndian.Uint32(p[12:]))
	h.bytes = binary.BigEndian.Uint64(p[16:])
	h.sum = binary.BigEndian.Uint64(p[24:])
	return h, nil
}

// encodeLayer lists the buckets of the trie t in path order, in chunks of
// about size bytes (an entry never spans two chunks).
func encodeLayer(t *rnode, size int) (chunks [][]byte, buckets uint64) {
	if size < layerEntryMax {
		size = layerEntryMax
	}
	var cur []byte
	var walk func(n *rnode, depth int)
	walk = func(n *rnode, depth int) {
		if !n.bucket() {
			walk(n.left, depth+1)
			walk(n.right, depth+1)
			return
		}
		if len(cur)+layerEntryMax > size {
			chunks = append(chunks, cur)
			cur = nil
		}
		if cur == nil {
			cur = make([]byte, 0, size+8) // + its checksum
		}
		cur = binary.AppendUvarint(cur, uint64(depth))
		cnt := n.d.count()
		cur = binary.AppendUvarint(cur, cnt)
		if cnt > 0 {
			cur = append(cur, n.d[:digestSize]...)
			cur = binary.AppendUvarint(cur, n.d.sum())
		}
		buckets++
	}
	walk(t, 0)
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks, buckets
}

// layerKeys lists the Badger keys of the saved layer, the header first.
func (s *Store) layerKeys() ([][]byte, error) {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixLayer})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if bytes.Equal(k, keyLayerHeader) {
				keys = append([][]byte{k}, keys...)
			} else {
				keys = append(keys, k)
			}
		}
		return nil
	})
	return keys, err
}

// saveLayer writes the bucket layer of trie, the committed trie at height
// with root, replacing any layer in Badger. The chunks are written before
// (or with) the header, and any chunks of an older layer beyond the new
// ones are deleted; a crash halfway leaves a header whose checksum does
// not match its chunks, or none, and Open ignores the layer.
func (s *Store) saveLayer(height int64, root []byte, trie *rnode) error {
	chunks, buckets := encodeLayer(trie, s.layerChunk)
	xx := xxhash.New()
	var total uint64
	for i, c := range chunks {
		c = binary.BigEndian.AppendUint64(c, xxhash.Sum64(c))
		chunks[i] = c
		_, _ = xx.Write(c)
		total += uint64(len(c))
	}
	h := layerHeader{height: height, root: root, bucket: s.bucket, buckets: buckets,
		chunks: len(chunks), bytes: total, sum: xx.Sum64()}
	old, err := s.layerKeys()
	if err != nil {
		return err
	}
	ops := make([]op, 0, len(chunks)+len(old)+1)
	for i, c := range chunks {
		ops = append(ops, op{key: layerChunkKey(i), val: c})
	}
	for _, k := range old {
		if i, ok := layerChunkIndex(k); (ok && i < len(chunks)) || bytes.Equal(k, keyLayerHeader) {
			continue // overwritten
		}
		ops = append(ops, op{key: k, del: true})
	}
	header := op{key: keyLayerHeader, val: h.encode()}

	txn := s.db.NewTransaction(true)
	fits, err := setAll(txn, append(ops, header))
	if err == nil && fits {
		return txn.Commit()
	}
	txn.Discard() // nothing written
	if err != nil {
		return err
	}
	w := &txnWriter{db: s.db}
	for _, o := range append(ops, header) {
		if err := w.add(o); err != nil {
			return err
		}
	}
	return w.flush()
}

// dropLayer deletes the saved layer, header first.
func (s *Store) dropLayer() error {
	keys, err := s.layerKeys()
	if err != nil {
		return err
	}
	w := &txnWriter{db: s.db}
	for _, k := range keys {
		if err := w.add(op{key: k, del: true}); err != nil {
			return err
		}
	}
	return w.flush()
}

// errNoLayer: there is no saved layer.
var errNoLayer = errors.New("no saved trie layer")

// loadLayer rebuilds the upper trie of the committed block (height, root)
// from the saved layer in txn. It returns errNoLayer if there is none, and
// another error if the layer is unusable (stale, corrupt, another bucket
// size); the caller then rebuilds from the leaves.
func (s *Store) loadLayer(txn *badger.Txn, height int64, root []byte) (*rnode, error) {
	raw, err := getValue(txn, keyLayerHeader)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errNoLayer
	}
	h, err := decodeLayerHeader(raw)
	switch {
	case err != nil:
		return nil, err
	case h.height != height || !bytes.Equal(h.root, root):
		return nil, fmt.Errorf("stale: saved at height %d (root %x), the committed height is %d (root %x)", h.height, h.root, height, root)
	case h.bucket != s.bucket:
		return nil, fmt.Errorf("saved with bucket size %d, the store now uses %d", h.bucket, s.bucket)
	}
	r := &layerReader{txn: txn, h: &h, xx: xxhash.New(), left: h.buckets}
	t, err := r.node(0)
	if err != nil {
		return nil, err
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	hashLayer(t, 0)
	if !bytes.Equal(t.d[:], root) {
		return nil, fmt.Errorf("its buckets give root %x, the committed root is %x", t.d[:], root)
	}
	return t, nil
}

// layerReader reads the bucket entries of a saved layer chunk by chunk,
// with a lookahead of one entry.
type layerReader struct {
	txn  *badger.Txn
	h    *layerHeader
	next int    // next chunk to read
	buf  []byte // the rest of the current chunk
	mem  []byte // the current chunk's buffer, reused
	xx   *xxhash.Digest
	read uint64 // chunk bytes read
	left uint64 // entries not yet read

	have  bool // an entry is looked ahead
	depth int
	d     digest
}

func (r *layerReader) peek() (int, error) {
	if r.have {
		return r.depth, nil
	}
	if r.left == 0 {
		return 0, fmt.Errorf("the trie is incomplete after %d buckets", r.h.buckets)
	}
	for len(r.buf) == 0 {
		if r.next >= r.h.chunks {
			return 0, fmt.Errorf("%d chunks hold fewer than %d buckets", r.h.chunks, r.h.buckets)
		}
		item, err := r.txn.Get(layerChunkKey(r.next))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return 0, fmt.Errorf("chunk %d of %d is missing", r.next, r.h.chunks)
		}
		if err != nil {
			return 0, err
		}
		if r.mem, err = item.ValueCopy(r.mem[:0]); err != nil {
			return 0, err
		}
		_, _ = r.xx.Write(r.mem)
		r.read += uint64(len(r.mem))
		n := len(r.mem) - 8
		if n < 0 || xxhash.Sum64(r.mem[:n]) != binary.BigEndian.Uint64(r.mem[max(n, 0):]) {
			return 0, fmt.Errorf("chunk %d checksum mismatch", r.next)
		}
		r.buf = r.mem[:n]
		r.next++
	}
	depth, n := binary.Uvarint(r.buf)
	if n <= 0 || depth > pathSize*8 {
		return 0, fmt.Errorf("bad bucket depth in chunk %d", r.next-1)
	}
	r.buf = r.buf[n:]
	cnt, n := binary.Uvarint(r.buf)
	if n <= 0 || cnt > uint64(r.h.bucket) || (depth == pathSize*8 && cnt > 1) {
		return 0, fmt.Errorf("bad bucket leaf count in chunk %d", r.next-1)
	}
	r.buf = r.buf[n:]
	r.d = digest{}
	if cnt > 0 {
		if len(r.buf) < digestSize {
			return 0, fmt.Errorf("truncated bucket in chunk %d", r.next-1)
		}
		copy(r.d[:], r.buf[:digestSize])
		r.buf = r.buf[digestSize:]
		sum, n := binary.Uvarint(r.buf)
		if n <= 0 {
			return 0, fmt.Errorf("bad bucket sum in chunk %d", r.next-1)
		}
		r.buf = r.buf[n:]
		binary.BigEndian.PutUint64(r.d[digestSize:], sum)
		binary.BigEndian.PutUint64(r.d[digestSize+8:], cnt)
	}
	r.have, r.depth = true, int(depth)
	r.left--
	return r.depth, nil
}

// node reads the subtrie at depth: a bucket if the next entry is at depth,
// else an inner node (its digest not yet computed, see hashLayer) over the
// two subtries one level down.
func (r *layerReader) node(depth int) (*rnode, error) {
	d, err := r.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case d == depth:
		r.have = false
		return &rnode{d: r.d}, nil
	case d < depth:
		return nil, fmt.Errorf("a bucket at depth %d where the trie needs depth %d or more", d, depth)
	}
	l, err := r.node(depth + 1)
	if err != nil {
		return nil, err
	}
	rt, err := r.node(depth + 1)
	if err != nil {
		return nil, err
	}
	return &rnode{left: l, right: rt}, nil
}

// finish checks that the whole layer was read and matches its checksum.
func (r *layerReader) finish() error {
	switch {
	case r.have || r.left != 0 || len(r.buf) != 0 || r.next != r.h.chunks:
		return errors.New("the layer holds more than one trie")
	case r.read != r.h.bytes:
		return fmt.Errorf("chunks of %d bytes, the header says %d", r.read, r.h.bytes)
	case r.xx.Sum64() != r.h.sum:
		return errors.New("the chunks' checksum does not match the header (chunks of another layer)")
	}
	return nil
}

// hashLayer computes the digests of the inner nodes of a trie read by
// layerReader, the subtries below layerParallelDepth in parallel.
func hashLayer(n *rnode, depth int) {
	if n.bucket() {
		return
	}
	if depth < layerParallelDepth {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			hashLayer(n.left, depth+1)
		}()
		hashLayer(n.right, depth+1)
		wg.Wait()
	} else {
		hashLayer(n.left, depth+1)
		hashLayer(n.right, depth+1)
	}
	n.d = inner(&n.left.d, &n.right.d)
}
