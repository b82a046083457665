package store

import (
	"testing"
	"time"
)

func TestExpPhases(t *testing.T) {
	s := openDisk(t, t.TempDir(), Options{})
	h := int64(0)
	next := 100000
	for blk := 0; blk < 16; blk++ {
		st := s.Stage()
		t0 := time.Now()
		for j := 0; j < 10000; j++ {
			k := next; next++
			if blk >= 10 && j%2 == 0 { k = (blk*10000 + j*7919) % 100000; next-- }
			if blk < 10 { k = blk*10000 + j; next-- }
			st.Set(testKey(k), testValue(k, blk, 200), uint64(j))
		}
		h++
		t1 := time.Now()
		st.Root()
		t2 := time.Now()
		last := t2
		testHook = func(p string) error { t.Log("   ", p, time.Since(last)); last = time.Now(); return nil }
		s.Commit(st, h)
		testHook = nil
		t.Log("block", h, "set", t1.Sub(t0), "root", t2.Sub(t1), "commit", time.Since(t2), "nodes", len(st.nodes.m))
	}
}
