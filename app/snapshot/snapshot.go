// Package snapshot keeps state-sync snapshots of the ledger on disk and
// encodes their chunks.
//
// A snapshot of height H is every committed record (key, value, weight) in
// key order, cut into chunks of at most ChunkSize bytes. Format 1 encodes a
// record as uvarint(len key) key uvarint(len value) value uvarint(weight).
// The snapshot's metadata is the SHA-256 of each chunk, concatenated; its
// hash is the SHA-256 of the metadata. A node restoring a snapshot checks
// each chunk against the metadata as it arrives, and the rebuilt state's
// root against the app hash that CometBFT's light client verified, so a
// peer can waste a node's time but never give it a wrong state.
//
// On disk: DIR/<height>/meta.json and DIR/<height>/<index>.chunk, written
// to a temporary directory and renamed into place, so a listed snapshot is
// always complete.
package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Format is the chunk format this package writes and reads.
const Format = 1

// ChunkSize is the most bytes of records in one chunk.
const ChunkSize = 4 << 20

// Meta describes one snapshot.
type Meta struct {
	Height   uint64 `json:"height"`
	Format   uint32 `json:"format"`
	Chunks   uint32 `json:"chunks"`
	Hash     []byte `json:"hash"`
	Metadata []byte `json:"metadata"` // SHA-256 of each chunk, concatenated
}

// Store is a directory of snapshots.
type Store struct {
	dir  string
	keep int
	// ChunkSize bounds the bytes of records in one chunk (default
	// ChunkSize).
	ChunkSize int
}

// Open uses dir (created if needed) and keeps the keep most recent
// snapshots (at least 1).
func Open(dir string, keep int) (*Store, error) {
	if keep < 1 {
		keep = 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &Store{dir: dir, keep: keep, ChunkSize: ChunkSize}, nil
}

// Exporter calls fn for every record of one consistent state in key order.
type Exporter func(fn func(key, value []byte, weight uint64) error) error

// Create writes the snapshot of height from export and prunes old ones.
func (s *Store) Create(height uint64, export Exporter) (*Meta, error) {
	final := filepath.Join(s.dir, strconv.FormatUint(height, 10))
	if _, err := os.Stat(final); err == nil {
		return s.Load(height)
	}
	tmp, err := os.MkdirTemp(s.dir, ".tmp-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer os.RemoveAll(tmp)
	meta := &Meta{Height: height, Format: Format}
	var buf bytes.Buffer
	flush := func() error {
		if buf.Len() == 0 && meta.Chunks > 0 {
			return nil
		}
		sum := sha256.Sum256(buf.Bytes())
		meta.Metadata = append(meta.Metadata, sum[:]...)
		name := filepath.Join(tmp, strconv.FormatUint(uint64(meta.Chunks), 10)+".chunk")
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return err
		}
		meta.Chunks++
		buf.Reset()
		return nil
	}
	var scratch [binary.MaxVarintLen64]byte
	put := func(b []byte) {
		n := binary.PutUvarint(scratch[:], uint64(len(b)))
		buf.Write(scratch[:n])
		buf.Write(b)
	}
	err = export(func(key, value []byte, weight uint64) error {
		if buf.Len() > 0 && buf.Len()+len(key)+len(value)+30 > s.ChunkSize {
			if err := flush(); err != nil {
				return err
			}
		}
		put(key)
		put(value)
		n := binary.PutUvarint(scratch[:], weight)
		buf.Write(scratch[:n])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: export height %d: %w", height, err)
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	sum := sha256.Sum256(meta.Metadata)
	meta.Hash = sum[:]
	bz, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), bz, 0o644); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return meta, s.prune()
}

// List returns the complete snapshots, newest first.
func (s *Store) List() ([]*Meta, error) {
	heights, err := s.heights()
	if err != nil {
		return nil, err
	}
	var out []*Meta
	for i := len(heights) - 1; i >= 0; i-- {
		m, err := s.Load(heights[i])
		if err != nil {
			continue // a damaged snapshot is not offered
		}
		out = append(out, m)
	}
	return out, nil
}

// Load reads one snapshot's metadata.
func (s *Store) Load(height uint64) (*Meta, error) {
	bz, err := os.ReadFile(filepath.Join(s.dir, strconv.FormatUint(height, 10), "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("snapshot: height %d: %w", height, err)
	}
	var m Meta
	if err := json.Unmarshal(bz, &m); err != nil {
		return nil, fmt.Errorf("snapshot: height %d: damaged metadata: %w", height, err)
	}
	return &m, nil
}

// Chunk reads one chunk.
func (s *Store) Chunk(height uint64, format, index uint32) ([]byte, error) {
	if format != Format {
		return nil, fmt.Errorf("snapshot: format %d unknown", format)
	}
	return os.ReadFile(filepath.Join(s.dir, strconv.FormatUint(height, 10), strconv.FormatUint(uint64(index), 10)+".chunk"))
}

func (s *Store) heights() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	var hs []uint64
	for _, e := range entries {
		if h, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() {
			hs = append(hs, h)
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
	return hs, nil
}

func (s *Store) prune() error {
	hs, err := s.heights()
	if err != nil {
		return err
	}
	for len(hs) > s.keep {
		if err := os.RemoveAll(filepath.Join(s.dir, strconv.FormatUint(hs[0], 10))); err != nil {
			return fmt.Errorf("snapshot: prune: %w", err)
		}
		hs = hs[1:]
	}
	return nil
}

// Verify checks a snapshot's metadata against its hash and chunk count.
func Verify(format, chunks uint32, hash, metadata []byte) error {
	if format != Format {
		return fmt.Errorf("snapshot: format %d unknown", format)
	}
	if chunks == 0 || len(metadata) != int(chunks)*sha256.Size {
		return errors.New("snapshot: metadata does not list one hash per chunk")
	}
	sum := sha256.Sum256(metadata)
	if !bytes.Equal(sum[:], hash) {
		return errors.New("snapshot: metadata does not match the snapshot hash")
	}
	return nil
}

// ChunkOK reports whether chunk is the index-th chunk named by metadata.
func ChunkOK(metadata []byte, index uint32, chunk []byte) bool {
	i := int(index) * sha256.Size
	if i+sha256.Size > len(metadata) {
		return false
	}
	sum := sha256.Sum256(chunk)
	return bytes.Equal(sum[:], metadata[i:i+sha256.Size])
}

// Decode calls fn for every record of a chunk.
func Decode(chunk []byte, fn func(key, value []byte, weight uint64) error) error {
	r := bufio.NewReader(bytes.NewReader(chunk))
	read := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > uint64(len(chunk)) {
			return nil, errors.New("snapshot: record longer than its chunk")
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	for {
		key, err := read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("snapshot: damaged chunk: %w", err)
		}
		value, err := read()
		if err != nil {
			return fmt.Errorf("snapshot: damaged chunk: %w", err)
		}
		weight, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("snapshot: damaged chunk: %w", err)
		}
		if err := fn(key, value, weight); err != nil {
			return err
		}
	}
}
