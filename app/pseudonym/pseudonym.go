// Package pseudonym holds the network pseudonym key and the keyed hash
// (HMAC-SHA256) the ledger derives every certificate-related name from:
// the certificate index under which a certificate's record is stored, the
// MyKey ID candidates, and the key a judged link request is remembered by.
//
// A certificate's issuer and serial number are held by every relying party
// that ever saw the card, so anything computed from them alone (a plain
// hash, a fingerprint) can be recomputed by any of them, and would link a
// card to its MyKey ID. Under a secret key shared by the validators (and
// their sentries) the names cannot be recomputed by outsiders. The key is
// provisioned like a validator key, never in genesis; genesis holds only a
// commitment to it (SHA-256 over a domain string and the key: a 256-bit
// random key cannot be guessed, so the hash reveals nothing of it) so that
// a node with a missing or wrong key stops instead of forking.
package pseudonym

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeySize is the length of a network pseudonym key.
const KeySize = 32

// KeyType is the type field of a key file.
const KeyType = "mykey/pseudonym-key"

// Domain labels: each name derived from the key has its own, so that no
// name of one kind equals one of another.
const (
	labelCommit  = "mykey/pseudonym-commitment/v1"
	labelCert    = "cert"
	labelMyKeyID = "mykey-id"
	labelLinkReq = "linkreq"
)

// Key is a network pseudonym key.
type Key [KeySize]byte

// Generate returns a new random key.
func Generate() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return Key{}, fmt.Errorf("pseudonym: generate key: %w", err)
	}
	return k, nil
}

// FromBytes returns the key in b, which must be KeySize bytes.
func FromBytes(b []byte) (Key, error) {
	var k Key
	if len(b) != KeySize {
		return k, fmt.Errorf("pseudonym: a key is %d bytes, got %d", KeySize, len(b))
	}
	copy(k[:], b)
	return k, nil
}

// Commitment is the commitment genesis holds to key.
func Commitment(key Key) []byte {
	h := sha256.New()
	h.Write([]byte(labelCommit))
	h.Write([]byte{0})
	h.Write(key[:])
	return h.Sum(nil)
}

// Matches reports whether key is the one commitment commits to.
func Matches(key Key, commitment []byte) bool {
	return hmac.Equal(Commitment(key), commitment)
}

// prf is HMAC-SHA256 under key over the label and the fields, each
// length-prefixed so that distinct field lists never give one input.
func prf(key *Key, label string, fields ...[]byte) []byte {
	m := hmac.New(sha256.New, key[:])
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(label)))
	m.Write(l[:])
	m.Write([]byte(label))
	for _, f := range fields {
		binary.BigEndian.PutUint32(l[:], uint32(len(f)))
		m.Write(l[:])
		m.Write(f)
	}
	return m.Sum(nil)
}

// CertIndex is the index of the certificate (issuer Name DER, minimal
// big-endian serial): its store key is cert/<hex index>.
func (k *Key) CertIndex(issuer, serial []byte) []byte {
	return prf(k, labelCert, issuer, serial)
}

// MyKeyIDBits is the n-th MyKey ID candidate of the certificate: the first
// 40 bits of its image, right-aligned.
func (k *Key) MyKeyIDBits(issuer, serial []byte, n uint32) uint64 {
	var nb [4]byte
	binary.BigEndian.PutUint32(nb[:], n)
	s := prf(k, labelMyKeyID, issuer, serial, nb[:])
	return uint64(s[0])<<32 | uint64(s[1])<<24 | uint64(s[2])<<16 | uint64(s[3])<<8 | uint64(s[4])
}

// LinkRequest is the name a judged link request (its sign bytes) is
// remembered by.
func (k *Key) LinkRequest(signBytes []byte) []byte {
	return prf(k, labelLinkReq, signBytes)
}

// keyFile is the JSON of a key file.
type keyFile struct {
	Type string `json:"type"`
	// Key is the key, hex.
	Key string `json:"key"`
	// Commitment is Commitment(key), hex: what genesis must hold.
	Commitment string `json:"commitment"`
}

// ErrNoKeyFile is returned (wrapped) by LoadFile when the file is absent.
var ErrNoKeyFile = errors.New("no pseudonym key file")

// LoadFile reads a key file written by WriteFile.
func LoadFile(path string) (Key, error) {
	bz, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Key{}, fmt.Errorf("%w %s", ErrNoKeyFile, path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("pseudonym key: %w", err)
	}
	var f keyFile
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Key{}, fmt.Errorf("pseudonym key file %s: %w", path, err)
	}
	if f.Type != KeyType {
		return Key{}, fmt.Errorf("pseudonym key file %s: type %q, want %q", path, f.Type, KeyType)
	}
	raw, err := hex.DecodeString(f.Key)
	if err != nil {
		return Key{}, fmt.Errorf("pseudonym key file %s: key: %w", path, err)
	}
	k, err := FromBytes(raw)
	if err != nil {
		return Key{}, fmt.Errorf("pseudonym key file %s: %w", path, err)
	}
	return k, nil
}

// WriteFile writes key to path (mode 0600), creating its directory.
func WriteFile(path string, key Key) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	bz, err := json.MarshalIndent(keyFile{Type: KeyType, Key: hex.EncodeToString(key[:]),
		Commitment: hex.EncodeToString(Commitment(key))}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(bz, '\n'), 0o600); err != nil {
		return err
	}
	// WriteFile keeps the mode of an existing file.
	return os.Chmod(path, 0o600)
}

// MismatchError is the message of a node whose key is missing or is not
// the network's: it names the file and what to do.
func MismatchError(path string, missing bool) error {
	if missing {
		return fmt.Errorf("no pseudonym key in %s: this network's genesis commits to a pseudonym key every node must hold; get the network's key from the government's key ceremony and write it there (mode 0600)", path)
	}
	return fmt.Errorf("pseudonym key in %s does not match the network's commitment in genesis: get the network's key from the government's key ceremony", path)
}
