package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// getValue returns a copy of key's value, or nil if absent.
func getValue(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func recordKey(key []byte) []byte {
	return concat(prefixRecord, key)
}

func concat(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

func encodeRecord(value []byte, weight uint64) []byte {
	out := make([]byte, weightBytes+len(value))
	binary.BigEndian.PutUint64(out, weight)
	copy(out[weightBytes:], value)
	return out
}

// decodeRecord splits a stored record; the value aliases raw and is
// non-nil even when empty.
func decodeRecord(raw []byte) (value []byte, weight uint64, err error) {
	if len(raw) < weightBytes {
		return nil, 0, fmt.Errorf("corrupt record of %d bytes", len(raw))
	}
	return raw[weightBytes:len(raw):len(raw)], binary.BigEndian.Uint64(raw), nil
}
