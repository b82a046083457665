package pseudonym

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileRoundTrip(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config", "pseudonym_key.json")
	if err := WriteFile(path, k); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	got, err := LoadFile(path)
	if err != nil || got != k {
		t.Fatalf("loaded %x %v", got, err)
	}
	if !Matches(k, Commitment(k)) || Matches(k, Commitment(Key{})) || bytes.Contains(Commitment(k), k[:]) {
		t.Fatal("commitment")
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, ErrNoKeyFile) {
		t.Fatalf("missing file: %v", err)
	}
	for name, body := range map[string]string{
		"short key":  `{"type":"` + KeyType + `","key":"abcd","commitment":""}`,
		"wrong type": `{"type":"tendermint/PrivKeyEd25519","key":"` + strings.Repeat("ab", 32) + `","commitment":""}`,
		"unknown":    `{"type":"` + KeyType + `","key":"` + strings.Repeat("ab", 32) + `","extra":1}`,
	} {
		p := filepath.Join(t.TempDir(), "k.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Each kind of name has its own domain: no two kinds coincide for one
// input, and the fields are length-prefixed (moving a byte from issuer to
// serial changes the index).
func TestDomains(t *testing.T) {
	k := Key{1, 2, 3}
	issuer, serial := []byte("issuer"), []byte{1, 2}
	idx := k.CertIndex(issuer, serial)
	if len(idx) != 32 || bytes.Equal(idx, k.LinkRequest(append(issuer, serial...))) {
		t.Fatal("cert index and link request names coincide")
	}
	if bytes.Equal(idx, k.CertIndex([]byte("issue"), []byte("r\x01\x02"))) {
		t.Fatal("fields are not length-prefixed")
	}
	if k.MyKeyIDBits(issuer, serial, 0) == k.MyKeyIDBits(issuer, serial, 1) || k.MyKeyIDBits(issuer, serial, 0) >= 1<<40 {
		t.Fatal("candidates")
	}
	other := Key{9}
	if bytes.Equal(idx, other.CertIndex(issuer, serial)) {
		t.Fatal("the index does not depend on the key")
	}
}
