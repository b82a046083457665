package genesis

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/mykeyledger/mykey/app/types"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	d := validDoc(t)
	cp := cmttypes.DefaultConsensusParams()
	cp.Block.MaxBytes = 1 << 20
	cp.Block.MaxGas = -1
	d.ConsensusParams = cp

	dir := t.TempDir()
	path := filepath.Join(dir, "genesis.json")
	if err := d.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, d)
	}

	// Only genesis.json is left: the temporary file was renamed.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "genesis.json" {
		t.Fatalf("directory holds %v, want only genesis.json", entries)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("genesis.json mode = %v, %v; want 0644", fi.Mode().Perm(), err)
	}

	// The app state is written as our JSON: hex keys, RFC 3339 times.
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"app_state": {`, `"threshold": 2`, `"` + edKey(20).String() + `"`,
		`"link_start": "2020-09-01T00:00:00Z"`, `"kind": "percent_of_charge"`, `"max_bytes": "1048576"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("genesis.json lacks %s", want)
		}
	}

	// Saving again over the existing file works and gives the same bytes.
	if err := got.Save(path); err != nil {
		t.Fatalf("second Save: %v", err)
	}
	raw2, _ := os.ReadFile(path)
	if !bytes.Equal(raw, raw2) {
		t.Fatalf("saving the loaded document changed the file")
	}
}

func TestCometBFTReadsSavedFile(t *testing.T) {
	d := validDoc(t)
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := d.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	gd, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		t.Fatalf("CometBFT cannot read the saved genesis: %v", err)
	}
	if gd.ChainID != d.ChainID || !gd.GenesisTime.Equal(d.GenesisTime) || gd.InitialHeight != 1 {
		t.Fatalf("CometBFT read chain %q time %v height %d", gd.ChainID, gd.GenesisTime, gd.InitialHeight)
	}
	if !reflect.DeepEqual(gd.ConsensusParams, cmttypes.DefaultConsensusParams()) {
		t.Fatalf("consensus params = %+v, want CometBFT defaults", gd.ConsensusParams)
	}
	if len(gd.AppHash) != 0 {
		t.Fatalf("app_hash = %X, want empty", gd.AppHash)
	}
	// Government first, then providers with a validator key; suica has none.
	want := []struct {
		key   types.HexBytes
		power int64
		name  string
	}{{edKey(10), 10, "government"}, {edKey(30), 5, "paypay"}, {edKey(31), 5, "linepay"}}
	if len(gd.Validators) != len(want) {
		t.Fatalf("CometBFT sees %d validators, want %d", len(gd.Validators), len(want))
	}
	for i, w := range want {
		v := gd.Validators[i]
		pub := cmted25519.PubKey(w.key)
		if v.PubKey.Type() != cmted25519.KeyType || !bytes.Equal(v.PubKey.Bytes(), w.key) {
			t.Errorf("validators[%d] pub_key = %v, want %v", i, v.PubKey, pub)
		}
		if v.Power != w.power || v.Name != w.name || !bytes.Equal(v.Address, pub.Address()) {
			t.Errorf("validators[%d] = power %d name %q address %X; want %d %q %X", i, v.Power, v.Name, v.Address, w.power, w.name, pub.Address())
		}
	}
	// The app state CometBFT will hand to InitChain decodes to ours.
	app, err := types.DecodeGenesisState(gd.AppState)
	if err != nil {
		t.Fatalf("DecodeAppState(app_state from CometBFT): %v", err)
	}
	if !reflect.DeepEqual(*app, d.AppState) {
		t.Fatalf("app state from CometBFT differs:\n got %+v\nwant %+v", *app, d.AppState)
	}
}

func TestLoadDefaults(t *testing.T) {
	d := validDoc(t)
	d.InitialHeight = 0
	d.ConsensusParams = nil
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := d.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.InitialHeight != 1 {
		t.Errorf("initial height = %d, want 1", got.InitialHeight)
	}
	if !reflect.DeepEqual(got.ConsensusParams, cmttypes.DefaultConsensusParams()) {
		t.Errorf("consensus params = %+v, want defaults", got.ConsensusParams)
	}
}

func TestCometGenesisDoesNotAlias(t *testing.T) {
	d := validDoc(t)
	d.ConsensusParams = cmttypes.DefaultConsensusParams()
	gd, err := d.CometGenesis()
	if err != nil {
		t.Fatal(err)
	}
	gd.ConsensusParams.Block.MaxBytes = 7
	gd.ConsensusParams.Validator.PubKeyTypes[0] = "x"
	if d.ConsensusParams.Block.MaxBytes == 7 || d.ConsensusParams.Validator.PubKeyTypes[0] == "x" {
		t.Fatal("CometGenesis shares consensus params with the document")
	}
	if gd.GenesisTime.Location() != d.GenesisTime.Location() || !gd.GenesisTime.Equal(d.GenesisTime) {
		t.Fatalf("genesis time %v, want %v", gd.GenesisTime, d.GenesisTime)
	}
}

func TestSaveRejectsInvalidDocument(t *testing.T) {
	d := validDoc(t)
	d.AppState.Government.Threshold = 0
	dir := t.TempDir()
	path := filepath.Join(dir, "genesis.json")
	err := d.Save(path)
	if err == nil || !strings.Contains(err.Error(), "genesis: government.threshold must be at least 1") {
		t.Fatalf("Save = %v, want the threshold problem", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Save of an invalid document left %v", entries)
	}
}

// rewrite loads path with CometBFT, lets edit change it, and saves it with
// CometBFT's SaveAs.
func rewrite(t *testing.T, path string, edit func(gd *cmttypes.GenesisDoc)) {
	t.Helper()
	gd, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(gd)
	if err := gd.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(gd *cmttypes.GenesisDoc)
		want string
	}{
		{"validator power differs", func(gd *cmttypes.GenesisDoc) { gd.Validators[1].Power = 99 },
			"genesis: validators[1]: power 99 does not match the app state's 5 (paypay)"},
		{"validator key differs", func(gd *cmttypes.GenesisDoc) {
			pub := cmted25519.PubKey(edKey(99))
			gd.Validators[2] = cmttypes.GenesisValidator{PubKey: pub, Address: pub.Address(), Power: 5, Name: "linepay"}
		}, "genesis: validators[2]: pub_key does not match the app state's (linepay)"},
		{"validator missing", func(gd *cmttypes.GenesisDoc) { gd.Validators = gd.Validators[:2] },
			"genesis: validators: the file lists 2, the app state derives 3"},
		{"app hash set", func(gd *cmttypes.GenesisDoc) { gd.AppHash = []byte{1, 2} },
			"genesis: app_hash must be empty"},
		{"app state invalid", func(gd *cmttypes.GenesisDoc) {
			var m map[string]any
			if err := json.Unmarshal(gd.AppState, &m); err != nil {
				panic(err)
			}
			m["government"].(map[string]any)["threshold"] = 7
			gd.AppState, _ = json.Marshal(m)
		}, "genesis: government.threshold 7 is above the number of keys (3)"},
		{"app state unknown field", func(gd *cmttypes.GenesisDoc) {
			gd.AppState = append(bytes.TrimSuffix(bytes.TrimSpace(gd.AppState), []byte("}")), []byte(`,"extra":1}`)...)
		}, `genesis: app_state: unknown field "extra"`},
		{"app state missing", func(gd *cmttypes.GenesisDoc) { gd.AppState = nil },
			"genesis: app_state is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "genesis.json")
			if err := validDoc(t).Save(path); err != nil {
				t.Fatal(err)
			}
			rewrite(t, path, tc.edit)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v; want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Load error does not name the file: %v", err)
			}
		})
	}

	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("Load of a missing file = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(bad, []byte(`{"chain_id":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), "genesis: "+bad) {
		t.Fatalf("Load of truncated JSON = %v", err)
	}
}
