package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/go-viper/mapstructure/v2"
)

// Where the app keeps its files, relative to the home directory:
// AppStateDir holds the app state (Badger), SnapshotDir the state-sync
// snapshots. CometBFT's own stores are beside them in data/.
const (
	AppStateDir = "data/mykey"
	SnapshotDir = "data/snapshots"
)

// Config is a node's configuration: CometBFT's, and the app's [mykey]
// section. Both live in one file, <home>/config/config.toml.
type Config struct {
	Comet *cfg.Config
	App   AppConfig
}

// AppConfig is the [mykey] section of config.toml.
type AppConfig struct {
	// ChainID is the network this node belongs to: start refuses a
	// genesis.json of another chain. "" accepts any.
	ChainID string `mapstructure:"chain_id"`
	// ReadyListenAddr is where GET /ready answers 200 once the node is
	// caught up and has at least ReadyMinPeers peers, and 503 before;
	// "" serves nothing. Load balancers and orchestrators use it instead
	// of "the process is up".
	ReadyListenAddr string `mapstructure:"ready_laddr"`
	// ReadyMinPeers is the number of peers /ready requires. A one-node
	// network sets 0.
	ReadyMinPeers int `mapstructure:"ready_min_peers"`
	// PublicListenAddr is where the public endpoint listens (see
	// PublicRoutes): headers, commits, validator sets and the public
	// records' proved queries, never blocks or transactions, which carry
	// certificates. "" serves nothing.
	PublicListenAddr string `mapstructure:"public_laddr"`
	// SnapshotInterval: the app takes a state-sync snapshot every this
	// many blocks; 0 takes none. Joining nodes state sync from them.
	SnapshotInterval uint64 `mapstructure:"snapshot_interval"`
	// SnapshotKeepRecent is how many snapshots are kept.
	SnapshotKeepRecent uint32 `mapstructure:"snapshot_keep_recent"`
	// PseudonymKeyFile holds the network pseudonym key (app/pseudonym),
	// relative to the home directory unless absolute.
	PseudonymKeyFile string `mapstructure:"pseudonym_key_file"`
	// MemoryLimitMiB is the node's memory budget in MiB: the store's
	// caches are derived from it and the Go runtime's soft memory limit
	// is set from it (see MemoryPlan).
	MemoryLimitMiB int64 `mapstructure:"memory_limit_mib"`
	// TrieCacheMiB, BlockCacheMiB and MemTableMiB size the app store's
	// trie bucket cache, Badger's block cache and one Badger memtable, in
	// MiB; 0 derives them from MemoryLimitMiB.
	TrieCacheMiB  int64 `mapstructure:"trie_cache_mib"`
	BlockCacheMiB int64 `mapstructure:"block_cache_mib"`
	MemTableMiB   int64 `mapstructure:"memtable_mib"`
}

// DefaultPseudonymKeyFile is where `mykeyd init` puts the network
// pseudonym key, relative to the home directory.
const DefaultPseudonymKeyFile = "config/pseudonym_key.json"

// DefaultAppConfig returns the [mykey] defaults.
func DefaultAppConfig() AppConfig {
	return AppConfig{
		ReadyListenAddr:    "tcp://127.0.0.1:26680",
		ReadyMinPeers:      1,
		PublicListenAddr:   "tcp://127.0.0.1:26670",
		SnapshotInterval:   100,
		SnapshotKeepRecent: 2,
		PseudonymKeyFile:   DefaultPseudonymKeyFile,
		MemoryLimitMiB:     DefaultMemoryLimitMiB,
	}
}

// DefaultConfig returns the configuration `mykeyd init` writes: CometBFT's
// defaults with Prometheus metrics on (on loopback) and peers filtered by
// the ledger, and the app defaults.
func DefaultConfig(home string) *Config {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	// Blocks carry card certificates: only the nodes the ledger registers
	// (validators and their sentries, genesis node_ids and mykey gov
	// set-nodes) may be peers.
	c.FilterPeers = true
	c.Instrumentation.Prometheus = true
	c.Instrumentation.PrometheusListenAddr = "127.0.0.1:26660"
	return &Config{Comet: c, App: DefaultAppConfig()}
}

// ConfigPath returns the config file of the node at home.
func ConfigPath(home string) string {
	return filepath.Join(home, cfg.DefaultConfigDir, cfg.DefaultConfigFileName)
}

// AppStatePath returns the app state directory of the node at home.
func (c *Config) AppStatePath() string {
	return filepath.Join(c.Comet.RootDir, AppStateDir)
}

// PseudonymKeyPath returns the network pseudonym key file of the node.
func (c *Config) PseudonymKeyPath() string {
	if filepath.IsAbs(c.App.PseudonymKeyFile) {
		return c.App.PseudonymKeyFile
	}
	return filepath.Join(c.Comet.RootDir, c.App.PseudonymKeyFile)
}

// SnapshotPath returns the state-sync snapshot directory of the node.
func (c *Config) SnapshotPath() string {
	return filepath.Join(c.Comet.RootDir, SnapshotDir)
}

// LoadConfig reads <home>/config/config.toml. Keys missing from the file
// keep their defaults; a key that is not a known setting is an error.
func LoadConfig(home string) (*Config, error) {
	path := ConfigPath(home)
	bz, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("node: %s does not exist: run `mykeyd init --home %s` first", path, home)
		}
		return nil, fmt.Errorf("node: %w", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(bz), &raw); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	// Keys the file leaves out keep CometBFT's own defaults, as when
	// CometBFT reads the file. The values convert as viper converts them
	// for CometBFT (a duration from "1s", a number from a quoted number, a
	// list from a comma-separated string).
	c := &Config{Comet: cfg.DefaultConfig(), App: DefaultAppConfig()}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
		WeaklyTypedInput: true,
		Metadata:         &md,
		Result:           &configFile{Comet: c.Comet, App: &c.App},
	})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := dec.Decode(raw); err != nil {
		return nil, fmt.Errorf("node: %s: %s", path, decodeErrors(err))
	}
	// A key that names no setting is an error, so that a typo does not
	// silently keep a default. (ErrorUnused would name the file's top
	// level by its Go type; the metadata has every key's full name.)
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return nil, fmt.Errorf("node: %s: unknown settings (misspelt?): %s", path, strings.Join(md.Unused, ", "))
	}
	c.Comet.SetRoot(home)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	return c, nil
}

// configFile is the layout of config.toml: CometBFT's sections at the top
// level, the app's under [mykey].
type configFile struct {
	Comet *cfg.Config `mapstructure:",squash"`
	App   *AppConfig  `mapstructure:"mykey"`
}

// decodeErrors lists the decoder's errors ("'p2p.pex' cannot parse value
// as 'bool': ...") on one line, without its "decoding failed" preamble.
func decodeErrors(err error) string {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return err.Error()
	}
	var msgs []string
	for _, e := range joined.Unwrap() {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}

// Validate checks CometBFT's settings and the app's.
func (c *Config) Validate() error {
	if err := c.Comet.ValidateBasic(); err != nil {
		return err
	}
	// CometBFT's template writes most strings between quotes without
	// escaping them.
	if err := checkStrings(reflect.ValueOf(c.Comet).Elem(), ""); err != nil {
		return err
	}
	if c.App.ReadyListenAddr != "" {
		if _, err := listenHostPort(c.App.ReadyListenAddr); err != nil {
			return fmt.Errorf("mykey.ready_laddr: %w", err)
		}
	}
	if c.App.PublicListenAddr != "" {
		if _, err := listenHostPort(c.App.PublicListenAddr); err != nil {
			return fmt.Errorf("mykey.public_laddr: %w", err)
		}
	}
	if c.App.ReadyMinPeers < 0 {
		return errors.New("mykey.ready_min_peers must not be negative")
	}
	if c.App.PseudonymKeyFile == "" {
		return errors.New("mykey.pseudonym_key_file must name the network pseudonym key file")
	}
	if c.App.SnapshotInterval > 0 && c.App.SnapshotKeepRecent == 0 {
		return errors.New("mykey.snapshot_keep_recent must be at least 1 when snapshot_interval is set")
	}
	if _, err := c.App.MemoryPlan(); err != nil {
		return err
	}
	return nil
}

// checkStrings rejects string settings that cannot be written into
// config.toml: with a quote, a backslash or a control character.
func checkStrings(v reflect.Value, prefix string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkStrings(v.Elem(), prefix)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("mapstructure")
			p := prefix
			if name != ",squash" {
				p = prefix + name + "."
			}
			if err := checkStrings(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.String:
		if strings.ContainsFunc(v.String(), func(r rune) bool { return r == '"' || r == '\\' || r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%s %q: quotes, backslashes and control characters cannot be written to config.toml", strings.TrimSuffix(prefix, "."), v.String())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := checkStrings(v.Index(i), prefix); err != nil {
				return err
			}
		}
	}
	return nil
}

// listenHostPort turns "tcp://host:port" or "host:port" into "host:port".
func listenHostPort(addr string) (string, error) {
	hp := strings.TrimPrefix(addr, "tcp://")
	if _, _, err := net.SplitHostPort(hp); err != nil {
		return "", fmt.Errorf("%q is not a tcp://host:port address", addr)
	}
	return hp, nil
}

// Save writes the configuration to <home>/config/config.toml: CometBFT's
// commented template, then the [mykey] section. It replaces the file
// atomically and creates the config and data directories.
func (c *Config) Save() error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("node: config: %w", err)
	}
	home := c.Comet.RootDir
	for _, d := range []string{cfg.DefaultConfigDir, cfg.DefaultDataDir} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}
	path := ConfigPath(home)
	// CometBFT renders its template only to a file (and panics on
	// failure), so render into a temporary file and read it back.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.toml")
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)
	if err := writeCometTemplate(tmpName, c.Comet); err != nil {
		return err
	}
	comet, err := os.ReadFile(tmpName)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	var app bytes.Buffer
	if err := appSectionTemplate.Execute(&app, &c.App); err != nil {
		return fmt.Errorf("node: render [mykey]: %w", err)
	}
	return writeFileAtomic(path, append(comet, app.Bytes()...), 0o644)
}

func writeCometTemplate(path string, c *cfg.Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node: write %s: %v", path, r)
		}
	}()
	cfg.WriteConfigFile(path, c)
	return nil
}

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("node: write %s: %w", path, werr)
	}
	return nil
}

var appSectionTemplate = template.Must(template.New("mykey").Parse(`
#######################################################
###         MyKey Ledger application options        ###
#######################################################
[mykey]

# The chain this node belongs to; start refuses a genesis.json of another
# chain. "" accepts any.
chain_id = "{{ .ChainID }}"

# The app state (Badger) lives in <home>/` + AppStateDir + `; CometBFT's stores
# live beside it in <home>/data. App metrics (linkages, grants, granted yen,
# rejections by code, per program and provider) are served with CometBFT's
# on the [instrumentation] Prometheus endpoint, under
# <namespace>_mykey_*; set instrumentation.prometheus = true to serve them.

# Readiness: GET http://<ready_laddr>/ready answers 200 when the node is
# caught up (not block- or state-syncing) and has at least ready_min_peers
# peers, and 503 otherwise; the body is JSON with the details. "" disables.
ready_laddr = "{{ .ReadyListenAddr }}"
ready_min_peers = {{ .ReadyMinPeers }}

# The public endpoint: CometBFT's JSON-RPC (POST and URI GET, no websocket)
# with only health, status, abci_info, genesis, genesis_chunked, header,
# header_by_hash, commit, validators and abci_query of public records
# (app/types PublicRoots). Blocks and transactions carry citizens'
# certificates: they are served only on the full RPC ([rpc] laddr), which
# must stay on loopback or a network only validators and their tools
# reach. Publish this address to auditors instead. "" disables.
public_laddr = "{{ .PublicListenAddr }}"

# State sync: take an app snapshot every snapshot_interval blocks (0: none)
# and keep the snapshot_keep_recent newest, in <home>/` + SnapshotDir + `, for new
# nodes to join from.
snapshot_interval = {{ .SnapshotInterval }}
snapshot_keep_recent = {{ .SnapshotKeepRecent }}

# The network pseudonym key: 32 secret bytes every validator and sentry of
# the network shares, provisioned like the validator key (never in
# genesis, which holds only a commitment to it). Certificate indexes and
# MyKey IDs are derived from it, so that no one without it can tell a
# card's MyKey ID. The node stops if the key is missing or is not the one
# genesis commits to. Relative to the home directory unless absolute.
pseudonym_key_file = "{{ .PseudonymKeyFile }}"

# Memory: the node's budget in MiB. The app store's caches are derived from
# it, and the Go runtime's soft memory limit is set to it less an eighth
# (kept for memory-mapped Badger files and other memory outside the Go
# heap), so the garbage collector works harder before the node's resident
# memory passes the budget (GOMEMLIMIT in the environment overrides that
# limit). 16384 suits a validator with a 24 GiB machine of its own; nodes sharing a
# machine need a share each. At least 512.
memory_limit_mib = {{ .MemoryLimitMiB }}

# The store's caches in MiB; 0 derives each from memory_limit_mib. The trie
# bucket cache (what the others leave, a quarter of the budget kept for the
# rest of the node) and Badger's block cache (a sixteenth) spare disk
# reads; a memtable (a sixteenth, within 32..256) holds recent
# writes, and a block whose changes exceed 15 % of it is written twice
# (through the store's redo log). Badger may hold 5 memtables at once, each
# 1.3 times memtable_mib. The caches together, with the eighth kept outside
# the Go heap, must leave a quarter of the budget for the rest of the node;
# the sizes chosen are logged at start.
trie_cache_mib = {{ .TrieCacheMiB }}
block_cache_mib = {{ .BlockCacheMiB }}
memtable_mib = {{ .MemTableMiB }}
`))
