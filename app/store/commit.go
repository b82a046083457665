package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"

	badger "github.com/dgraph-io/badger/v4"
)

// op is one entry of a block's changeset: a put or delete of a full Badger
// key (a record, r/..., or a trie leaf, l/...).
type op struct {
	key []byte
	val []byte
	del bool
}

// apply adds the operation to a Badger write batch.
func (o *op) apply(wb *badger.WriteBatch) error {
	if o.del {
		return wb.Delete(o.key)
	}
	return wb.Set(o.key, o.val)
}

const (
	opPut byte = 0
	opDel byte = 1

	markerVersion = 1
	markerSize    = 1 + 8 + 4 + 8 + RootSize
)

// Commit persists the stage's records and trie leaves together with height
// and the stage's root (see the package documentation for the commit
// protocol). height must be above the committed height and the stage must
// have been created after the last commit. The stage is consumed either way.
//
// If Commit fails after it started writing, the store refuses further
// commits; close and reopen it, and Open will recover to either the
// previous or the new block.
func (s *Store) Commit(st *Stage, height int64) error {
	if st == nil || st.s != s {
		return errors.New("store: commit: stage belongs to another store")
	}
	if st.err != nil {
		return st.err
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	defer st.Discard()
	if err := s.checkCommit(st, height); err != nil {
		return err
	}
	root, err := st.Root()
	if err != nil {
		return err
	}
	ops := st.changeset()
	if err := s.write(height, root, ops); err != nil {
		s.mu.Lock()
		s.failed = err
		s.mu.Unlock()
		return err
	}
	// The leaves of the buckets this block made are likely read again.
	for n, ls := range st.owned {
		s.cache.put(&n.d, ls)
	}
	s.publish(height, root, st.trie)
	s.committed()
	s.stats.commits.Add(1)
	s.stats.writes.Add(int64(len(ops)))
	s.commits++
	if s.durable && s.gcEvery > 0 && s.commits%s.gcEvery == 0 {
		// Best effort: the block is committed whatever GC does.
		_ = s.runGC(1)
	}
	return nil
}

// writableLocked reports why the store takes no more writes, if it does
// not (s.mu held).
func (s *Store) writableLocked() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.failed != nil:
		return fmt.Errorf("store: an earlier commit failed, reopen the store: %w", s.failed)
	}
	return nil
}

func (s *Store) checkCommit(st *Stage, height int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return err
	}
	switch {
	case st.base != s.snap:
		return ErrStaleStage
	case height <= s.snap.height:
		return fmt.Errorf("store: commit height %d not above committed height %d", height, s.snap.height)
	}
	return nil
}

// write makes the changeset durable with height and root and applies it.
// Readers keep seeing the previous snapshot meanwhile. Any error leaves
// Badger in a state that only Open resolves.
//
// A block whose changeset fits one Badger transaction is written in one
// transaction with m/height and m/root: that transaction is the commit
// point, and there is nothing to recover. A bigger block goes through the
// redo log: the redo entry's transaction is the commit point, then the
// changeset is applied with a WriteBatch and the redo entry deleted.
func (s *Store) write(height int64, root []byte, ops []op) error {
	if err := hook(hookBeforeRedo); err != nil {
		return err
	}
	meta := []op{{key: keyHeight, val: heightBytes(height)}, {key: keyRoot, val: root}}
	if !s.durable {
		return s.apply(append(ops[:len(ops):len(ops)], meta...), hookMidApply)
	}
	if s.redoTxnLimit == 0 && !s.forceRedo {
		txn := s.db.NewTransaction(true)
		fits, err := setAll(txn, append(ops[:len(ops):len(ops)], meta...))
		if err == nil && fits {
			err = txn.Commit()
			if err != nil {
				return fmt.Errorf("store: commit: %w", err)
			}
			return hook(hookAfterTxn)
		}
		txn.Discard() // nothing written
		if err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
	}
	s.stats.redoCommits.Add(1)
	if err := s.writeRedo(height, root, encodeChunks(ops, s.chunk)); err != nil {
		return err
	}
	if err := hook(hookAfterRedo); err != nil {
		return err
	}
	if err := s.apply(ops, hookMidApply); err != nil {
		return err
	}
	if err := hook(hookAfterApply); err != nil {
		return err
	}
	return s.deleteRedo(height)
}

// changeset lists the stage's leaf and record changes, each group in sorted
// key order (l/ before r/, so the whole list is sorted).
func (st *Stage) changeset() []op {
	paths := make([][pathSize]byte, 0, len(st.leaves))
	for p := range st.leaves {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(a, b [pathSize]byte) int { return bytes.Compare(a[:], b[:]) })
	recKeys := make([]string, 0, len(st.recs))
	for k := range st.recs {
		recKeys = append(recKeys, k)
	}
	sort.Strings(recKeys)

	ops := make([]op, 0, len(paths)+len(recKeys)+2)
	for i := range paths {
		ch := st.leaves[paths[i]]
		o := op{key: leafKey(&paths[i]), del: ch.del}
		if !ch.del {
			o.val = ch.encodeValue()
		}
		ops = append(ops, o)
	}
	for _, k := range recKeys {
		r := st.recs[k]
		o := op{key: recordKey([]byte(k)), del: r.deleted}
		if !r.deleted {
			o.val = encodeRecord(r.value, r.weight)
		}
		ops = append(ops, o)
	}
	return ops
}

// encodeChunks serialises ops into chunks of about size bytes. An op never
// spans two chunks, so each chunk decodes on its own. Encoding per op:
// kind byte, uvarint key length, key, and for puts uvarint value length and
// value.
func encodeChunks(ops []op, size int) [][]byte {
	var chunks [][]byte
	var cur []byte
	var tmp [binary.MaxVarintLen64]byte
	for _, o := range ops {
		need := 1 + 2*binary.MaxVarintLen64 + len(o.key) + len(o.val)
		if len(cur) > 0 && len(cur)+need > size {
			chunks = append(chunks, cur)
			cur = nil
		}
		if cur == nil {
			c := size
			if need > c {
				c = need
			}
			cur = make([]byte, 0, c)
		}
		kind := opPut
		if o.del {
			kind = opDel
		}
		cur = append(cur, kind)
		cur = append(cur, tmp[:binary.PutUvarint(tmp[:], uint64(len(o.key)))]...)
		cur = append(cur, o.key...)
		if !o.del {
			cur = append(cur, tmp[:binary.PutUvarint(tmp[:], uint64(len(o.val)))]...)
			cur = append(cur, o.val...)
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// decodeChunk parses one chunk; keys and values alias it.
func decodeChunk(c []byte) ([]op, error) {
	var ops []op
	for len(c) > 0 {
		kind := c[0]
		c = c[1:]
		if kind != opPut && kind != opDel {
			return nil, fmt.Errorf("bad op kind %d", kind)
		}
		key, rest, err := readBytes(c)
		if err != nil {
			return nil, err
		}
		c = rest
		o := op{key: key, del: kind == opDel}
		if !o.del {
			if o.val, c, err = readBytes(c); err != nil {
				return nil, err
			}
		}
		ops = append(ops, o)
	}
	return ops, nil
}

func readBytes(c []byte) (b, rest []byte, err error) {
	n, k := binary.Uvarint(c)
	if k <= 0 || n > uint64(len(c)-k) {
		return nil, nil, errors.New("truncated changeset")
	}
	end := k + int(n)
	return c[k:end:end], c[end:], nil
}

func heightBytes(h int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(h))
	return b
}

// redoPrefix is w/<height>/.
func redoPrefix(h int64) []byte {
	p := make([]byte, 0, len(prefixRedo)+9)
	p = append(p, prefixRedo...)
	p = append(p, heightBytes(h)...)
	return append(p, '/')
}

func chunkKey(h int64, i int) []byte {
	k := append(redoPrefix(h), 'c', 0, 0, 0, 0)
	binary.BigEndian.PutUint32(k[len(k)-4:], uint32(i))
	return k
}

func markerKey(h int64) []byte {
	return append(redoPrefix(h), 'm')
}

type marker struct {
	height int64
	chunks int
	bytes  uint64
	root   []byte
}

func (m marker) encode() []byte {
	b := make([]byte, 0, markerSize)
	b = append(b, markerVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(m.height))
	b = binary.BigEndian.AppendUint32(b, uint32(m.chunks))
	b = binary.BigEndian.AppendUint64(b, m.bytes)
	return append(b, m.root...)
}

func decodeMarker(b []byte) (marker, error) {
	if len(b) != markerSize || b[0] != markerVersion {
		return marker{}, fmt.Errorf("bad redo marker %x", b)
	}
	return marker{
		height: int64(binary.BigEndian.Uint64(b[1:])),
		chunks: int(binary.BigEndian.Uint32(b[9:])),
		bytes:  binary.BigEndian.Uint64(b[13:]),
		root:   bytes.Clone(b[21:]),
	}, nil
}

// writeRedo makes the block's changeset durable together with the new
// height and root. The transaction that writes m/height and m/root also
// writes the marker; that transaction is the commit point.
func (s *Store) writeRedo(height int64, root []byte, chunks [][]byte) error {
	var total uint64
	for _, c := range chunks {
		total += uint64(len(c))
	}
	m := marker{height: height, chunks: len(chunks), bytes: total, root: root}
	meta := []op{
		{key: markerKey(height), val: m.encode()},
		{key: keyHeight, val: heightBytes(height)},
		{key: keyRoot, val: root},
	}
	entries := make([]op, 0, len(chunks)+len(meta))
	for i, c := range chunks {
		entries = append(entries, op{key: chunkKey(height, i), val: c})
	}

	// Usually everything fits one transaction: chunks are value-log values
	// that cost about 40 bytes each against the transaction limit.
	if s.redoTxnLimit == 0 {
		txn := s.db.NewTransaction(true)
		fits, err := setAll(txn, append(entries, meta...))
		if err != nil || !fits {
			txn.Discard() // nothing written
			if err != nil {
				return fmt.Errorf("store: redo log: %w", err)
			}
		} else {
			if err := txn.Commit(); err != nil {
				return fmt.Errorf("store: redo log commit: %w", err)
			}
			return nil
		}
	}

	// Too big for one transaction: write the chunks in as many transactions
	// as needed, then the marker with the meta keys in a final one.
	w := &txnWriter{db: s.db, limit: s.redoTxnLimit, afterCommit: func() error { return hook(hookRedoChunk) }}
	for _, e := range entries {
		if err := w.add(e); err != nil {
			return fmt.Errorf("store: redo log: %w", err)
		}
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("store: redo log: %w", err)
	}
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	fits, err := setAll(txn, meta)
	if err == nil && !fits {
		err = badger.ErrTxnTooBig
	}
	if err != nil {
		return fmt.Errorf("store: redo marker: %w", err)
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store: redo marker commit: %w", err)
	}
	return nil
}

// setAll adds ops to txn; fits is false if the transaction got too big (the
// caller must then discard it).
func setAll(txn *badger.Txn, ops []op) (fits bool, err error) {
	for _, o := range ops {
		if o.del {
			err = txn.Delete(o.key)
		} else {
			err = txn.SetEntry(badger.NewEntry(o.key, o.val))
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// txnWriter writes ops in order over as many transactions as needed.
type txnWriter struct {
	db          *badger.DB
	limit       int // max ops per transaction if > 0 (tests)
	afterCommit func() error
	txn         *badger.Txn
	n           int
}

func (w *txnWriter) add(o op) error {
	if w.txn != nil && w.limit > 0 && w.n >= w.limit {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if w.txn == nil {
		w.txn = w.db.NewTransaction(true)
		w.n = 0
	}
	fits, err := setAll(w.txn, []op{o})
	if err != nil {
		return err
	}
	if !fits {
		if w.n == 0 {
			return fmt.Errorf("entry %q alone exceeds the transaction limit: %w", o.key, badger.ErrTxnTooBig)
		}
		if err := w.flush(); err != nil {
			return err
		}
		return w.add(o)
	}
	w.n++
	return nil
}

func (w *txnWriter) flush() error {
	if w.txn == nil {
		return nil
	}
	txn := w.txn
	w.txn = nil
	if w.n == 0 {
		txn.Discard()
		return nil
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	if w.afterCommit != nil {
		return w.afterCommit()
	}
	return nil
}

// apply writes ops with a WriteBatch. midHook is called (tests only) after
// the first half has been written.
func (s *Store) apply(ops []op, midHook string) error {
	wb := s.db.NewWriteBatch()
	done := false
	defer func() {
		if !done {
			wb.Cancel()
		}
	}()
	mid := -1
	if testHook != nil && len(ops) > 1 {
		mid = len(ops) / 2
	}
	for i, o := range ops {
		if i == mid {
			done = true
			if err := wb.Flush(); err != nil {
				return fmt.Errorf("store: apply: %w", err)
			}
			if err := hook(midHook); err != nil {
				return err
			}
			wb, done = s.db.NewWriteBatch(), false
		}
		if err := o.apply(wb); err != nil {
			return fmt.Errorf("store: apply %q: %w", o.key, err)
		}
	}
	done = true
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	return nil
}

// deleteRedo removes the redo entry of height h, marker first.
func (s *Store) deleteRedo(h int64) error {
	var keys [][]byte
	mk := markerKey(h)
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = redoPrefix(h)
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(io.Prefix); it.ValidForPrefix(io.Prefix); it.Next() {
			k := it.Item().KeyCopy(nil)
			if !bytes.Equal(k, mk) {
				keys = append(keys, k)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: list redo entry %d: %w", h, err)
	}
	w := &txnWriter{db: s.db}
	// Marker first: once it is gone the entry is never replayed, and any
	// chunks left behind are garbage that Open removes.
	if err := w.add(op{key: mk, del: true}); err != nil {
		return fmt.Errorf("store: delete redo entry %d: %w", h, err)
	}
	for _, k := range keys {
		if err := w.add(op{key: k, del: true}); err != nil {
			return fmt.Errorf("store: delete redo entry %d: %w", h, err)
		}
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("store: delete redo entry %d: %w", h, err)
	}
	return nil
}

// recover finishes an interrupted commit: it replays the redo entry whose
// marker belongs to the committed height and removes every redo key.
// height and root are the committed meta. It runs from Open.
func (s *Store) recover(height int64, root []byte) error {
	if !s.durable {
		return nil
	}
	heights := map[int64]bool{} // height -> has marker
	var order []int64
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = prefixRedo
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(prefixRedo); it.ValidForPrefix(prefixRedo); it.Next() {
			k := it.Item().Key()
			if len(k) < len(prefixRedo)+10 {
				return fmt.Errorf("bad redo key %x", k)
			}
			h := int64(binary.BigEndian.Uint64(k[len(prefixRedo):]))
			if _, seen := heights[h]; !seen {
				order = append(order, h)
				heights[h] = false
			}
			if bytes.Equal(k, markerKey(h)) {
				heights[h] = true
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: scan redo log: %w", err)
	}
	for _, h := range order { // ascending: keys sort by big-endian height
		if heights[h] {
			if h > height {
				return fmt.Errorf("store: redo marker for height %d above committed height %d", h, height)
			}
			// A marker below the committed height belongs to a block
			// that was fully applied before a later commit; only the
			// committed height's entry can be unfinished.
			if h == height {
				if err := s.replay(h, root); err != nil {
					return err
				}
			}
		}
		if err := s.deleteRedo(h); err != nil {
			return err
		}
	}
	return nil
}

// replay re-applies the redo entry of height h chunk by chunk.
func (s *Store) replay(h int64, root []byte) error {
	var m marker
	err := s.db.View(func(txn *badger.Txn) error {
		raw, err := getValue(txn, markerKey(h))
		if err != nil {
			return err
		}
		m, err = decodeMarker(raw)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: redo marker %d: %w", h, err)
	}
	if m.height != h || !bytes.Equal(m.root, root) {
		return fmt.Errorf("store: redo marker %d does not match the committed root %x", h, root)
	}
	var total uint64
	for i := 0; i < m.chunks; i++ {
		var chunk []byte
		err := s.db.View(func(txn *badger.Txn) error {
			var err error
			chunk, err = getValue(txn, chunkKey(h, i))
			if err == nil && chunk == nil {
				err = errors.New("missing")
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("store: redo chunk %d/%d: %w", h, i, err)
		}
		total += uint64(len(chunk))
		ops, err := decodeChunk(chunk)
		if err != nil {
			return fmt.Errorf("store: redo chunk %d/%d: %w", h, i, err)
		}
		if err := s.apply(ops, hookMidReplay); err != nil {
			return err
		}
	}
	if total != m.bytes {
		return fmt.Errorf("store: redo entry %d has %d bytes, marker says %d", h, total, m.bytes)
	}
	return nil
}
