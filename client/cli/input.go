package cli

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"

	"github.com/mykeyledger/mykey/internal/keyfile"
)

// parsePubKey reads an ed25519 public key given as hex, base64, a key file
// or a CometBFT priv_validator_key.json. "" is nil unless required.
func parsePubKey(flag, s string, required bool) ([]byte, error) {
	if s == "" {
		if required {
			return nil, usageErr("%s is required", flag)
		}
		return nil, nil
	}
	if _, err := os.Stat(s); err == nil {
		if k, err := keyfile.Load(s); err == nil {
			return k.Public(), nil
		}
		bz, err := os.ReadFile(s)
		if err != nil {
			return nil, usageErr("%s: %v", flag, err)
		}
		var pv struct {
			PubKey struct {
				Value string `json:"value"`
			} `json:"pub_key"`
		}
		if json.Unmarshal(bz, &pv) == nil && pv.PubKey.Value != "" {
			s = pv.PubKey.Value
		} else {
			return nil, usageErr("%s: %s is neither a mykey key file nor a priv_validator_key.json", flag, s)
		}
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	return nil, usageErr("%s: not a 32-byte ed25519 public key (%s)", flag, keyHelp)
}

func readIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ids = append(ids, strings.ToUpper(line))
	}
	if err := sc.Err(); err != nil {
		return nil, errors.New("cli: reading " + path + ": " + err.Error())
	}
	return ids, nil
}
