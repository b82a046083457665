package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	k, err := Generate(RoleProvider, "paypay")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "paypay.key")
	if err := Save(path, k); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != RoleProvider || got.ID != "paypay" || !bytes.Equal(got.Private, k.Private) {
		t.Fatalf("loaded %+v", got)
	}
	msg := []byte("grant")
	if !bytes.Equal(got.Sign(msg), k.Sign(msg)) {
		t.Fatal("signatures differ")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	k, _ := Generate(RoleGovernment, "gov-0")
	good := filepath.Join(dir, "good.key")
	Save(good, k)
	bz, _ := os.ReadFile(good)
	other, _ := Generate(RoleGovernment, "gov-1")
	damaged := strings.Replace(string(bz), string(mustHex(k.Public())), string(mustHex(other.Public())), 1)
	cases := map[string]struct{ path, want string }{
		"missing":     {filepath.Join(dir, "nope.key"), "does not exist"},
		"not json":    {write("a.key", "hello"), "not a key file"},
		"wrong type":  {write("b.key", `{"type":"rsa"}`), "type"},
		"short seed":  {write("c.key", `{"type":"mykey-ed25519","private_key":"abcd"}`), "32 bytes"},
		"key damaged": {write("d.key", damaged), "does not match"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to say %q", err, c.want)
			}
		})
	}
}

func mustHex(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}
