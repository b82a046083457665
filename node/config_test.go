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
	c.App = AppConfig{ChainID: "x-1", ReadyListenAddr: "tcp://127.0.0.1:9", ReadyMinPeers: 3, SnapshotInterval: 7, SnapshotKeepRecent: 4, PseudonymKeyFile: "/etc/mykey/pseudonym_key.json"}
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
		{"unknown key", "[mykey]\nready_lddr = \"x\"\n", "ready_lddr"},
		{"bad duration", "[consensus]\ntimeout_commit = \"fast\"\n", "timeout_commit"},
		{"bad type", "[p2p]\npex = \"maybe\"\n", "pex"},
		{"bad ready addr", "[mykey]\nready_laddr = \"nowhere\"\n", "ready_laddr"},
		{"unterminated", "moniker = \"x\n", "unterminated"},
		{"quote in moniker", "moniker = \"a\\\"b\"\n", "moniker"},
		{"set twice", "moniker = \"x\"\nmoniker = \"y\"\n", "twice"},
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
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseTOML(t *testing.T) {
	vals, err := parseTOML(`
# comment
a = 1_000 # trailing
b = [ "x", 'y',
      "z", ]   
[t.u]
c = true
d = "\u00e9\t"
e = -2.5
`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": int64(1000), "b": []any{"x", "y", "z"}, "t.u.c": true, "t.u.d": "é\t", "t.u.e": -2.5}
	if len(vals) != len(want) {
		t.Fatalf("got %d values, want %d: %v", len(vals), len(want), vals)
	}
	for k, v := range want {
		if !reflect.DeepEqual(vals[k].v, v) {
			t.Errorf("%s = %#v, want %#v", k, vals[k].v, v)
		}
	}
}
