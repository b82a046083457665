package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mykeyledger/mykey/app/store"
)

// TestStoreOptions: the cache sizes in Options reach the store's options.
func TestStoreOptions(t *testing.T) {
	got := Options{InMemory: true, TrieCacheSize: 11 << 20, BlockCacheSize: 22 << 20, MemTableSize: 33 << 20}.storeOptions()
	want := store.Options{InMemory: true, CacheSize: 11 << 20, BlockCacheSize: 22 << 20, MemTableSize: 33 << 20}
	if got != want {
		t.Fatalf("store options %+v, want %+v", got, want)
	}
	if got := (Options{}).storeOptions(); got != (store.Options{WarmCache: true}) {
		t.Fatalf("zero options give %+v, want the store's defaults (zero) and a warm-up of the cache after a reopen", got)
	}
}

// TestMemTableSizeReachesBadger opens the app on disk with a memtable
// size and finds it in Badger's files: each memtable's write-ahead log
// (*.mem) is created at twice the memtable size.
func TestMemTableSizeReachesBadger(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want int64
	}{
		{"set", 40 << 20, 80 << 20},
		{"default", 0, 512 << 20}, // the store's 256 MiB
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, err := New(Options{Dir: dir, PseudonymKey: &testPseudonymKey, MemTableSize: tc.size})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
			if err != nil || len(mems) == 0 {
				t.Fatalf("no memtable file in %s (%v)", dir, err)
			}
			for _, m := range mems {
				fi, err := os.Stat(m)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() != tc.want {
					t.Errorf("%s is %d bytes, want %d (twice the memtable)", m, fi.Size(), tc.want)
				}
			}
		})
	}
}
