// Package keyfile reads and writes the ed25519 key files of government
// authorities and providers (grant keys). A key file is JSON, mode 0600:
//
//	{"type": "mykey-ed25519", "role": "provider", "id": "paypay",
//	 "public_key": "<hex>", "private_key": "<hex of the 32-byte seed>"}
package keyfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Type is the type field of every key file.
const Type = "mykey-ed25519"

// Roles of a key.
const (
	RoleGovernment = "government"
	RoleProvider   = "provider"
)

// Key is one ed25519 signing key and whose it is.
type Key struct {
	Role    string
	ID      string // provider ID, or a label for a government key holder
	Private ed25519.PrivateKey
}

// Public returns the public key.
func (k *Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Sign signs msg.
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.Private, msg) }

// Generate makes a new key.
func Generate(role, id string) (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keyfile: generate: %w", err)
	}
	return &Key{Role: role, ID: id, Private: priv}, nil
}

type fileJSON struct {
	Type       string `json:"type"`
	Role       string `json:"role"`
	ID         string `json:"id"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// Save writes k to path with mode 0600, atomically (a temporary file in
// the same directory, then a rename).
func Save(path string, k *Key) error {
	bz, err := json.MarshalIndent(fileJSON{
		Type: Type, Role: k.Role, ID: k.ID,
		PublicKey:  hex.EncodeToString(k.Public()),
		PrivateKey: hex.EncodeToString(k.Private.Seed()),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("keyfile: encode: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keyfile: %w", err)
	}
	if _, err := tmp.Write(append(bz, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keyfile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	return nil
}

// Load reads a key file and checks that its public key matches its seed.
func Load(path string) (*Key, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("keyfile: %s does not exist: pass the key file the network was set up with", path)
		}
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	var f fileJSON
	if err := json.Unmarshal(bz, &f); err != nil {
		return nil, fmt.Errorf("keyfile: %s is not a key file: %v", path, err)
	}
	if f.Type != Type {
		return nil, fmt.Errorf("keyfile: %s: type %q, want %q", path, f.Type, Type)
	}
	seed, err := hex.DecodeString(f.PrivateKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("keyfile: %s: private_key must be %d bytes of hex", path, ed25519.SeedSize)
	}
	k := &Key{Role: f.Role, ID: f.ID, Private: ed25519.NewKeyFromSeed(seed)}
	if f.PublicKey != "" && f.PublicKey != hex.EncodeToString(k.Public()) {
		return nil, fmt.Errorf("keyfile: %s: public_key does not match private_key: the file is damaged", path)
	}
	return k, nil
}
