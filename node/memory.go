package node

import (
	"fmt"
	"runtime/debug"

	"github.com/cometbft/cometbft/libs/log"
)

// The node's memory budget: [mykey] memory_limit_mib and the sizes of the
// app store's caches (trie_cache_mib, block_cache_mib, memtable_mib),
// each given or derived from the budget.
//
// The store's caches live in the Go heap: mykeyd is built without
// jemalloc, so Badger's block cache and memtable arenas, like the trie
// bucket cache, are Go allocations. The Go runtime's soft memory limit
// (runtime/debug.SetMemoryLimit) therefore covers them and the node's
// working heap alike; it is set to the budget less a reserve for memory
// the Go runtime does not manage (Badger's memory-mapped tables and value
// log, the binary, thread stacks outside Go), so that the GC works harder
// before the resident memory passes the budget. The cache sizes decide how
// much of that heap the caches may take; what they leave is the working
// heap (CometBFT, the mempool, blocks being executed, the in-memory trie,
// signature and record memos), which must be at least a quarter of the
// budget.
const (
	// DefaultMemoryLimitMiB suits a validator with a machine of its own
	// (24 GiB): two thirds of it, the rest left to the system and its page
	// cache. The trie cache derived from it (7.4 GiB) holds the leaves of
	// some 10 million people, so their reads come from memory.
	DefaultMemoryLimitMiB = 16384
	// TestnetMemoryLimitMiB is each node's budget in a test network,
	// whose nodes share one machine.
	TestnetMemoryLimitMiB = 1024
	// MinMemoryLimitMiB is the smallest budget accepted.
	MinMemoryLimitMiB = 512
	// MinMemTableMiB is the smallest memtable accepted: Badger's
	// transaction limit is 15 % of a memtable (4.8 MiB at 32 MiB, about
	// 2,500 links), and a block whose changes do not fit one transaction
	// is written twice, through the store's redo log (app/store/doc.go).
	MinMemTableMiB = 32
	// MaxMemTableMiB is the largest memtable accepted: Badger addresses a
	// memtable's arena (1.3 times its size) with 32-bit offsets.
	MaxMemTableMiB = 2048

	// memtablesInMemory is how many memtables Badger may hold at once:
	// app/store opens Badger with NumMemtables = 3, the number of full
	// memtables that may wait for a flush, plus the one being flushed and
	// the one being written.
	memtablesInMemory = 3 + 2
	// memtableArenaPct: each memtable's arena is its size plus Badger's
	// headroom for one more transaction (15 %) and its skiplist nodes
	// (as much again): 130 % of memtable_mib.
	memtableArenaPct = 130
)

// MemoryPlan is how a node's memory budget is shared out, in MiB.
type MemoryPlan struct {
	// LimitMiB is memory_limit_mib, the budget.
	LimitMiB int64
	// TrieCacheMiB, BlockCacheMiB and MemTableMiB are the store's cache
	// sizes (store.Options CacheSize, BlockCacheSize, MemTableSize).
	TrieCacheMiB, BlockCacheMiB, MemTableMiB int64
	// MemTablesMiB is what the memtables may take at once: 5 arenas of
	// 1.3 times MemTableMiB.
	MemTablesMiB int64
	// ReserveMiB is kept out of the Go heap for memory the Go runtime does
	// not manage: an eighth of the budget.
	ReserveMiB int64
	// HeapMiB is the working heap: the budget less the caches and the
	// reserve.
	HeapMiB int64
}

// GoMemoryLimit is the Go runtime's soft memory limit in bytes: the
// budget less the reserve. It bounds the caches and the working heap
// together, since both are Go allocations.
func (p MemoryPlan) GoMemoryLimit() int64 { return (p.LimitMiB - p.ReserveMiB) << 20 }

// LogFields are the plan as key/value pairs for the node's log.
func (p MemoryPlan) LogFields() []any {
	return []any{"memory_limit_mib", p.LimitMiB, "trie_cache_mib", p.TrieCacheMiB, "block_cache_mib", p.BlockCacheMiB,
		"memtable_mib", p.MemTableMiB, "memtables_max_mib", p.MemTablesMiB, "reserve_mib", p.ReserveMiB,
		"working_heap_mib", p.HeapMiB, "go_memory_limit_mib", p.GoMemoryLimit() >> 20}
}

// MemoryPlan checks the memory settings and shares the budget out: the
// cache sizes set in config.toml, the others derived from
// memory_limit_mib: the block cache a sixteenth of it, the memtable a
// sixteenth within 32..256 MiB, and the trie cache whatever the others,
// the reserve and the quarter kept for the working heap leave (the trie
// cache is what keeps a large state's leaf reads in memory). The error
// names the setting and what to do.
func (a AppConfig) MemoryPlan() (MemoryPlan, error) {
	const derive = "or 0 to derive it from mykey.memory_limit_mib"
	for _, s := range []struct {
		key string
		v   int64
	}{
		{"memory_limit_mib", a.MemoryLimitMiB},
		{"trie_cache_mib", a.TrieCacheMiB},
		{"block_cache_mib", a.BlockCacheMiB},
		{"memtable_mib", a.MemTableMiB},
	} {
		if s.v < 0 {
			return MemoryPlan{}, fmt.Errorf("mykey.%s = %d must not be negative: set a size in MiB", s.key, s.v)
		}
	}
	b := a.MemoryLimitMiB
	if b < MinMemoryLimitMiB {
		return MemoryPlan{}, fmt.Errorf("mykey.memory_limit_mib = %d is below the minimum of %d MiB: set it to the memory this node may use (%d suits a validator with a machine of its own)",
			b, MinMemoryLimitMiB, DefaultMemoryLimitMiB)
	}
	if m := a.MemTableMiB; m != 0 && m < MinMemTableMiB {
		return MemoryPlan{}, fmt.Errorf("mykey.memtable_mib = %d is below the minimum of %d MiB: Badger's transaction limit is 15 %% of a memtable, and a block whose changes do not fit one transaction is written twice (through the store's redo log); set at least %d, %s",
			m, MinMemTableMiB, MinMemTableMiB, derive)
	}
	if m := a.MemTableMiB; m > MaxMemTableMiB {
		return MemoryPlan{}, fmt.Errorf("mykey.memtable_mib = %d is above the maximum of %d MiB (Badger addresses a memtable with 32-bit offsets): set at most %d, %s",
			m, MaxMemTableMiB, MaxMemTableMiB, derive)
	}
	p := MemoryPlan{
		LimitMiB:      b,
		BlockCacheMiB: orDefault(a.BlockCacheMiB, b/16),
		MemTableMiB:   orDefault(a.MemTableMiB, min(max(b/16, MinMemTableMiB), 256)),
		ReserveMiB:    b / 8,
	}
	p.MemTablesMiB = memtablesInMemory * p.MemTableMiB * memtableArenaPct / 100
	p.TrieCacheMiB = a.TrieCacheMiB
	if p.TrieCacheMiB == 0 {
		// At least 1 MiB: 0 would be the store's own default.
		p.TrieCacheMiB = max(b-p.ReserveMiB-b/4-p.BlockCacheMiB-p.MemTablesMiB, 1)
	}
	p.HeapMiB = b - p.ReserveMiB - p.TrieCacheMiB - p.BlockCacheMiB - p.MemTablesMiB
	if minHeap := b / 4; p.HeapMiB < minHeap {
		return MemoryPlan{}, fmt.Errorf("mykey: the caches and the reserve take %d MiB of memory_limit_mib = %d (trie_cache_mib %d + block_cache_mib %d + %d for the memtables: memtable_mib %d, and Badger may hold %d memtables at once, each 1.3 times that; + %d kept outside the Go heap), more than the %d MiB that leave a quarter of the budget for the rest of the node; lower trie_cache_mib, block_cache_mib or memtable_mib (0 derives them from the budget), or raise memory_limit_mib",
			b-p.HeapMiB, b, p.TrieCacheMiB, p.BlockCacheMiB, p.MemTablesMiB, p.MemTableMiB, memtablesInMemory, p.ReserveMiB, b-minHeap)
	}
	return p, nil
}

func orDefault(v, def int64) int64 {
	if v != 0 {
		return v
	}
	return def
}

// EnvGoMemLimit is the Go runtime's own memory limit variable; when it is
// set, the node leaves the limit it gives in place.
const EnvGoMemLimit = "GOMEMLIMIT"

// setMemoryLimit is debug.SetMemoryLimit (a variable for tests).
var setMemoryLimit = debug.SetMemoryLimit

// applyMemoryLimit sets the Go runtime's soft memory limit from the plan,
// unless GOMEMLIMIT (getenv) is set, and logs which applies. It returns
// the limit it set, 0 if it left GOMEMLIMIT's.
func applyMemoryLimit(p MemoryPlan, getenv func(string) string, logger log.Logger) int64 {
	if v := getenv(EnvGoMemLimit); v != "" {
		logger.Info("Go memory limit from the environment, not from mykey.memory_limit_mib", EnvGoMemLimit, v)
		return 0
	}
	limit := p.GoMemoryLimit()
	setMemoryLimit(limit)
	logger.Info("Go memory limit set from mykey.memory_limit_mib", "go_memory_limit_mib", limit>>20,
		"memory_limit_mib", p.LimitMiB, "reserve_mib", p.ReserveMiB)
	return limit
}
