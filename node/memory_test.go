package node

import (
	"os"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/libs/log"
)

// TestMemoryPlanDerived: the sizes derived from a budget, and what they
// leave.
func TestMemoryPlanDerived(t *testing.T) {
	cases := []struct {
		name string
		cfg  AppConfig
		want MemoryPlan
	}{
		// The default: the trie cache takes what the rest leaves.
		{"validator", AppConfig{MemoryLimitMiB: DefaultMemoryLimitMiB},
			MemoryPlan{LimitMiB: 16384, TrieCacheMiB: 7552, BlockCacheMiB: 1024, MemTableMiB: 256, MemTablesMiB: 1664, ReserveMiB: 2048, HeapMiB: 4096}},
		{"testnet", AppConfig{MemoryLimitMiB: TestnetMemoryLimitMiB},
			MemoryPlan{LimitMiB: 1024, TrieCacheMiB: 160, BlockCacheMiB: 64, MemTableMiB: 64, MemTablesMiB: 416, ReserveMiB: 128, HeapMiB: 256}},
		// The memtable stays within 32..256 MiB.
		{"smallest", AppConfig{MemoryLimitMiB: 512},
			MemoryPlan{LimitMiB: 512, TrieCacheMiB: 80, BlockCacheMiB: 32, MemTableMiB: 32, MemTablesMiB: 208, ReserveMiB: 64, HeapMiB: 128}},
		{"4 GiB", AppConfig{MemoryLimitMiB: 4096},
			MemoryPlan{LimitMiB: 4096, TrieCacheMiB: 640, BlockCacheMiB: 256, MemTableMiB: 256, MemTablesMiB: 1664, ReserveMiB: 512, HeapMiB: 1024}},
		// Sizes set in config.toml are kept; the others derived.
		{"explicit", AppConfig{MemoryLimitMiB: 4096, TrieCacheMiB: 512, MemTableMiB: 64},
			MemoryPlan{LimitMiB: 4096, TrieCacheMiB: 512, BlockCacheMiB: 256, MemTableMiB: 64, MemTablesMiB: 416, ReserveMiB: 512, HeapMiB: 2400}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.MemoryPlan()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("plan %+v, want %+v", got, tc.want)
			}
			if lim := got.GoMemoryLimit(); lim != (tc.want.LimitMiB-tc.want.ReserveMiB)<<20 {
				t.Fatalf("Go memory limit %d MiB, want the budget less the reserve", lim>>20)
			}
		})
	}
}

// TestMemoryPlanAnyBudget: every budget from the minimum up derives a plan
// that adds up to the budget and leaves a quarter of it to the working
// heap.
func TestMemoryPlanAnyBudget(t *testing.T) {
	for b := int64(MinMemoryLimitMiB); b <= 1<<17; b += b/7 + 1 {
		p, err := AppConfig{MemoryLimitMiB: b}.MemoryPlan()
		if err != nil {
			t.Fatalf("budget %d: %v", b, err)
		}
		if sum := p.TrieCacheMiB + p.BlockCacheMiB + p.MemTablesMiB + p.ReserveMiB + p.HeapMiB; sum != b || p.HeapMiB < b/4 {
			t.Fatalf("budget %d: %+v adds up to %d", b, p, sum)
		}
		if p.MemTableMiB < MinMemTableMiB || p.MemTableMiB > 256 || p.TrieCacheMiB <= 0 || p.BlockCacheMiB <= 0 {
			t.Fatalf("budget %d: %+v", b, p)
		}
	}
}

// TestAppOptionsMemory: the plan's sizes reach the app's options (which
// pass them to store.Options, see app's TestStoreOptions), in bytes.
func TestAppOptionsMemory(t *testing.T) {
	c := DefaultConfig(t.TempDir())
	c.App.MemoryLimitMiB = 1024
	c.App.MemTableMiB = 48
	opts, plan, err := appOptions(c)
	if err != nil {
		t.Fatal(err)
	}
	if opts.TrieCacheSize != 264<<20 || opts.BlockCacheSize != 64<<20 || opts.MemTableSize != 48<<20 {
		t.Fatalf("app options: trie cache %d, block cache %d, memtable %d", opts.TrieCacheSize, opts.BlockCacheSize, opts.MemTableSize)
	}
	if plan.MemTableMiB != 48 || plan.LimitMiB != 1024 || opts.Dir != c.AppStatePath() {
		t.Fatalf("plan %+v, dir %s", plan, opts.Dir)
	}
	c.App.MemTableMiB = 16
	if _, _, err := appOptions(c); err == nil {
		t.Fatal("a 16 MiB memtable was accepted")
	}
}

// TestConfigWithoutMemoryKeys: a config.toml written before the memory
// settings existed gets the validator's budget.
func TestConfigWithoutMemoryKeys(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(home+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ConfigPath(home), []byte("[mykey]\nchain_id = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.App; a.MemoryLimitMiB != DefaultMemoryLimitMiB || a.TrieCacheMiB != 0 || a.BlockCacheMiB != 0 || a.MemTableMiB != 0 {
		t.Fatalf("memory settings %+v", a)
	}
}

// TestApplyMemoryLimit: the Go runtime's limit is the plan's, unless
// GOMEMLIMIT is set.
func TestApplyMemoryLimit(t *testing.T) {
	var set []int64
	old := setMemoryLimit
	setMemoryLimit = func(v int64) int64 { set = append(set, v); return 0 }
	defer func() { setMemoryLimit = old }()
	plan, err := AppConfig{MemoryLimitMiB: 1024}.MemoryPlan()
	if err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	if got := applyMemoryLimit(plan, noEnv, log.NewNopLogger()); got != 896<<20 || len(set) != 1 || set[0] != 896<<20 {
		t.Fatalf("limit %d, set %v, want 896 MiB (1024 less an eighth)", got, set)
	}
	env := func(k string) string {
		if k == EnvGoMemLimit {
			return "2GiB"
		}
		return ""
	}
	if got := applyMemoryLimit(plan, env, log.NewNopLogger()); got != 0 || len(set) != 1 {
		t.Fatalf("with GOMEMLIMIT set: limit %d, set %v; want it left alone", got, set)
	}
}

// TestInitMemoryLimit: init --memory-limit-mib writes the budget into a
// new config.toml, and refuses one too small without writing it.
func TestInitMemoryLimit(t *testing.T) {
	home := t.TempDir()
	if _, err := InitHome(InitOptions{Home: home, ChainID: "x", MemoryLimitMiB: 2048}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.App.MemoryLimitMiB != 2048 {
		t.Fatalf("memory_limit_mib = %d, want 2048", c.App.MemoryLimitMiB)
	}
	bad := t.TempDir()
	_, err = InitHome(InitOptions{Home: bad, ChainID: "x", MemoryLimitMiB: 300})
	if err == nil || !strings.Contains(err.Error(), "mykey.memory_limit_mib = 300 is below the minimum of 512 MiB") {
		t.Fatalf("a 300 MiB budget: %v", err)
	}
	if _, err := os.Stat(ConfigPath(bad)); !os.IsNotExist(err) {
		t.Fatalf("config.toml written for a refused budget (%v)", err)
	}
}
