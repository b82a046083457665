package snapshot

import (
	"bytes"
	"fmt"
	"testing"
)

type rec struct {
	k, v []byte
	w    uint64
}

func records(n int) []rec {
	var out []rec
	for i := 0; i < n; i++ {
		out = append(out, rec{[]byte(fmt.Sprintf("key/%05d", i)), bytes.Repeat([]byte{byte(i)}, i%50), uint64(i)})
	}
	return out
}

func exporter(rs []rec) Exporter {
	return func(fn func(k, v []byte, w uint64) error) error {
		for _, r := range rs {
			if err := fn(r.k, r.v, r.w); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestCreateReadBack(t *testing.T) {
	s, err := Open(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	s.ChunkSize = 1000
	rs := records(500)
	m, err := s.Create(10, exporter(rs))
	if err != nil {
		t.Fatal(err)
	}
	if m.Chunks < 5 || Verify(m.Format, m.Chunks, m.Hash, m.Metadata) != nil {
		t.Fatalf("meta %+v", m)
	}
	var got []rec
	for i := uint32(0); i < m.Chunks; i++ {
		c, err := s.Chunk(10, Format, i)
		if err != nil || !ChunkOK(m.Metadata, i, c) {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if i > 0 && ChunkOK(m.Metadata, i-1, c) {
			t.Fatal("a chunk matches another index")
		}
		if err := Decode(c, func(k, v []byte, w uint64) error { got = append(got, rec{k, v, w}); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(rs) {
		t.Fatalf("%d records back, want %d", len(got), len(rs))
	}
	for i := range rs {
		if !bytes.Equal(got[i].k, rs[i].k) || !bytes.Equal(got[i].v, rs[i].v) || got[i].w != rs[i].w {
			t.Fatalf("record %d differs", i)
		}
	}
	if Verify(m.Format, m.Chunks, append([]byte{1}, m.Hash[1:]...), m.Metadata) == nil || Verify(2, m.Chunks, m.Hash, m.Metadata) == nil {
		t.Fatal("bad hash or format verified")
	}
	if Decode([]byte{0x05, 'a'}, func(k, v []byte, w uint64) error { return nil }) == nil {
		t.Fatal("truncated chunk decoded")
	}
}

func TestPruneKeepsNewest(t *testing.T) {
	s, _ := Open(t.TempDir(), 2)
	for _, h := range []uint64{5, 10, 15} {
		if _, err := s.Create(h, exporter(records(3))); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := s.List()
	if len(list) != 2 || list[0].Height != 15 || list[1].Height != 10 {
		t.Fatalf("kept %v", list)
	}
}
