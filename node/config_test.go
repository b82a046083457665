package node

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfigRoundTrip saves a configuration with every kind of value
// changed from its default and reads it back unchanged.
func TestConfigRoundTrip(t *testing.T) {
	home := t.TempDir()
	c := DefaultConfig(home)
	c.Comet.Moniker = "政府 node's #1"
	c.Comet.LogFormat = "json"
	c.Comet.RPC.CORSAllowedOrigins = []string{"https://a.example", "https://b.example"}
	c.Comet.P2P.PersistentPeers = "abc@127.0.0.1:1,def@127.0.0.1:2"
	c.Comet.Consensus.TimeoutCommit = 250 * time.Millisecond
	c.Comet.StateSync.Enable = true
	c.Comet.StateSync.RPCServers = []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}
	c.Comet.StateSync.TrustHeight = 42
	c.Comet.StateSync.TrustHash = "ABCDEF"
	c.Comet.StateSync.ChunkFetchers = 7
	c.Comet.Mempool.Size = 12345
	c.App = AppConfig{ChainID: "x-1", ReadyListenAddr: "tcp://127.0.0.1:9", ReadyMinPeers: 3, SnapshotInterval: 7, SnapshotKeepRecent: 4, PseudonymKeyFile: "/etc/mykey/pseudonym_key.json",
		MemoryLimitMiB: 8192, TrieCacheMiB: 700, BlockCacheMiB: 300, MemTableMiB: 128}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.App, c.App) {
		t.Errorf("app section: got %+v, want %+v", got.App, c.App)
	}
	if !reflect.DeepEqual(got.Comet, c.Comet) {
		diffStructs(t, "", reflect.ValueOf(got.Comet).Elem(), reflect.ValueOf(c.Comet).Elem())
	}
}

func diffStructs(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	if a.Kind() == reflect.Pointer {
		a, b = a.Elem(), b.Elem()
	}
	if a.Kind() != reflect.Struct {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			t.Errorf("%s: got %#v, want %#v", path, a.Interface(), b.Interface())
		}
		return
	}
	for i := 0; i < a.NumField(); i++ {
		if !a.Type().Field(i).IsExported() {
			continue
		}
		diffStructs(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, edit, want string
	}{
		{"unknown key", "[mykey]\nready_lddr = \"x\"\n", "unknown settings (misspelt?): mykey.ready_lddr"},
		{"unknown top-level key", "monicker = \"x\"\n[p2p]\npexx = true\n", "unknown settings (misspelt?): monicker, p2p.pexx"},
		{"unknown section", "[mykee]\nchain_id = \"x\"\n", "mykee"},
		{"bad duration", "[consensus]\ntimeout_commit = \"fast\"\n", "'consensus.timeout_commit' time: invalid duration"},
		{"bad type", "[p2p]\npex = \"maybe\"\n", "'p2p.pex' cannot parse value as 'bool'"},
		{"bad number", "[mykey]\nready_min_peers = \"x\"\n", "'mykey.ready_min_peers'"},
		{"bad ready addr", "[mykey]\nready_laddr = \"nowhere\"\n", "ready_laddr"},
		{"unterminated", "moniker = \"x\n", "line 1"},
		{"quote in moniker", "moniker = \"a\\\"b\"\n", "moniker"},
		{"set twice", "moniker = \"x\"\nmoniker = \"y\"\n", "line 2 (last key \"moniker\"): Key 'moniker' has already been defined"},
		{"negative budget", "[mykey]\nmemory_limit_mib = -1\n", "mykey.memory_limit_mib = -1 must not be negative: set a size in MiB"},
		{"zero budget", "[mykey]\nmemory_limit_mib = 0\n", "mykey.memory_limit_mib = 0 is below the minimum of 512 MiB: set it to the memory this node may use"},
		{"small budget", "[mykey]\nmemory_limit_mib = 256\n", "mykey.memory_limit_mib = 256 is below the minimum of 512 MiB"},
		{"budget not a number", "[mykey]\nmemory_limit_mib = \"4 GiB\"\n", "'mykey.memory_limit_mib'"},
		{"negative trie cache", "[mykey]\ntrie_cache_mib = -5\n", "mykey.trie_cache_mib = -5 must not be negative"},
		{"negative block cache", "[mykey]\nblock_cache_mib = -1\n", "mykey.block_cache_mib = -1 must not be negative"},
		{"negative memtable", "[mykey]\nmemtable_mib = -64\n", "mykey.memtable_mib = -64 must not be negative"},
		{"memtable too small for a block", "[mykey]\nmemtable_mib = 8\n", "mykey.memtable_mib = 8 is below the minimum of 32 MiB: Badger's transaction limit is 15 % of a memtable"},
		{"memtable too big", "[mykey]\nmemtable_mib = 4096\nmemory_limit_mib = 65536\n", "mykey.memtable_mib = 4096 is above the maximum of 2048 MiB"},
		{"caches over the budget", "[mykey]\nmemory_limit_mib = 1024\nblock_cache_mib = 2048\n", "the caches and the reserve take 2593 MiB of memory_limit_mib = 1024 (trie_cache_mib 1 + block_cache_mib 2048 + 416 for the memtables"},
		{"caches leave too little heap", "[mykey]\nmemory_limit_mib = 4096\ntrie_cache_mib = 1024\n", "the caches and the reserve take 3456 MiB of memory_limit_mib = 4096 (trie_cache_mib 1024 + block_cache_mib 256 + 1664 for the memtables: memtable_mib 256, and Badger may hold 5 memtables at once, each 1.3 times that; + 512 kept outside the Go heap), more than the 3072 MiB that leave a quarter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.MkdirAll(home+"/config", 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ConfigPath(home), []byte(tc.edit), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(home)
			if err == nil {
				t.Fatalf("got no error, want one mentioning %q", tc.want)
			}
			// The message names the file; the rest of it must name
			// the setting (the test's directory name would match).
			msg, ok := strings.CutPrefix(err.Error(), "node: "+ConfigPath(home)+": ")
			if !ok || !strings.Contains(msg, tc.want) {
				t.Fatalf("got %v, want an error naming the file, then %q", err, tc.want)
			}
		})
	}
}

// TestConfigReadsTOML reads a hand-edited file: TOML the template does not
// write, and values converted as CometBFT (through viper) converts them.
func TestConfigReadsTOML(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(home+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	src := `
# comment
moniker = 'node-1' # trailing comment
[rpc]
cors_allowed_origins = [ "https://a.example", 'https://b.example',
      ]
[consensus]
timeout_commit = "1s"
timeout_propose = 2_000_000_000
[statesync]
rpc_servers = "http://127.0.0.1:1,http://127.0.0.1:2"
trust_height = "42"
[mempool]
size = 1_000
[mykey]
ready_min_peers = 0
snapshot_interval = 0
`
	if err := os.WriteFile(ConfigPath(home), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"moniker", c.Comet.Moniker, "node-1"},
		{"rpc.cors_allowed_origins", c.Comet.RPC.CORSAllowedOrigins, []string{"https://a.example", "https://b.example"}},
		{"consensus.timeout_commit", c.Comet.Consensus.TimeoutCommit, time.Second},
		{"consensus.timeout_propose", c.Comet.Consensus.TimeoutPropose, 2 * time.Second},
		{"statesync.rpc_servers", c.Comet.StateSync.RPCServers, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}},
		{"statesync.trust_height", c.Comet.StateSync.TrustHeight, int64(42)},
		{"mempool.size", c.Comet.Mempool.Size, 1000},
		{"mykey.ready_min_peers", c.App.ReadyMinPeers, 0},
		{"mykey.snapshot_interval", c.App.SnapshotInterval, uint64(0)},
		// Left out: the defaults.
		{"p2p.laddr", c.Comet.P2P.ListenAddress, DefaultConfig(home).Comet.P2P.ListenAddress},
		{"mykey.public_laddr", c.App.PublicListenAddr, DefaultAppConfig().PublicListenAddr},
		{"mykey.snapshot_keep_recent", c.App.SnapshotKeepRecent, DefaultAppConfig().SnapshotKeepRecent},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if c.Comet.RootDir != home {
		t.Errorf("root dir %q, want %q", c.Comet.RootDir, home)
	}
}
