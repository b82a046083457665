package store

// Where a bulk load's Commit writes its leaves and records (bulk.go): Badger's
// StreamWriter into an empty store, else write batches.

import (
	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"
)

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
