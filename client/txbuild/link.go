package txbuild

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/types"
)

// Commitment is the account commitment of a link token: SHA-256 of the
// token string the provider's app shows its logged-in customer. The
// provider derives the token from the account with a key of its own, so
// the commitment reveals nothing about the account number.
func Commitment(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// DefaultLinkValidity is how long a signed link request stays valid.
const DefaultLinkValidity = time.Hour

// LinkRequest builds the request a card signs. expires must be within
// types.MaxLinkValidity of the block time the ledger judges it at.
func LinkRequest(chainID, program, provider, token string, expires time.Time, cert []byte) *types.LinkRequest {
	return &types.LinkRequest{
		ChainId: chainID, ProgramId: program, ProviderId: provider,
		AccountCommitment: Commitment(token), ExpiresAt: expires.Unix(),
		Certificate: cert,
	}
}

// CheckValidity refuses a validity the ledger would refuse.
func CheckValidity(d time.Duration) error {
	if d <= 0 || d > types.MaxLinkValidity*time.Second {
		return fmt.Errorf("txbuild: a link request is valid for up to %s, not %s", time.Duration(types.MaxLinkValidity)*time.Second, d)
	}
	return nil
}

// LinkTx encodes a signed link as a transaction.
func LinkTx(sl *types.SignedLink) ([]byte, error) {
	return types.EncodeTx(types.WrapLink(sl))
}

// Fingerprint is how the ledger names a certificate (store key cert/<fp>).
func Fingerprint(certDER []byte) (string, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return "", fmt.Errorf("txbuild: the card's certificate does not parse: %w", err)
	}
	return jpki.IDOf(cert).Fingerprint(), nil
}

// LinkFileType is the type of a signed link request file.
const LinkFileType = "mykey-signed-link"

// LinkFile is a citizen's signed link request, written by
// `mykey link --out FILE` and read by `mykey link submit-batch`. The
// readable fields repeat what SignedLink holds, for the provider to sort
// files by; SignedLink is what is sent.
type LinkFile struct {
	Type        string `json:"type"`
	ChainID     string `json:"chain_id"`
	ProgramID   string `json:"program_id"`
	ProviderID  string `json:"provider_id"`
	ExpiresAt   string `json:"expires_at"` // RFC 3339
	Fingerprint string `json:"fingerprint"`
	// SignedLink is the protobuf encoding of types.SignedLink.
	SignedLink []byte `json:"signed_link"`
}

// NewLinkFile describes a signed link.
func NewLinkFile(sl *types.SignedLink) (*LinkFile, error) {
	bz, err := sl.Marshal()
	if err != nil {
		return nil, fmt.Errorf("txbuild: encode signed link: %w", err)
	}
	fp, err := Fingerprint(sl.Request.Certificate)
	if err != nil {
		return nil, err
	}
	r := sl.Request
	return &LinkFile{Type: LinkFileType, ChainID: r.ChainId, ProgramID: r.ProgramId, ProviderID: r.ProviderId,
		ExpiresAt: time.Unix(r.ExpiresAt, 0).UTC().Format(time.RFC3339), Fingerprint: fp, SignedLink: bz}, nil
}

// Link decodes the signed link and checks that the readable fields agree
// with it.
func (f *LinkFile) Link() (*types.SignedLink, error) {
	var sl types.SignedLink
	if err := sl.Unmarshal(f.SignedLink); err != nil {
		return nil, fmt.Errorf("txbuild: signed link does not decode: %w", err)
	}
	r := sl.Request
	if r == nil || len(sl.Signature) == 0 {
		return nil, errors.New("txbuild: signed link has no request or no signature")
	}
	if r.ChainId != f.ChainID || r.ProgramId != f.ProgramID || r.ProviderId != f.ProviderID {
		return nil, errors.New("txbuild: the file's chain, program or provider differ from the signed request: the file was edited")
	}
	return &sl, nil
}

// SaveLinkFile writes f to path (mode 0644; it holds no secret).
func SaveLinkFile(path string, f *LinkFile) error {
	return writeJSON(path, f, 0o644)
}

// LoadLinkFile reads a signed link request file and decodes its link.
func LoadLinkFile(path string) (*LinkFile, *types.SignedLink, error) {
	var f LinkFile
	if err := readJSON(path, LinkFileType, &f); err != nil {
		return nil, nil, err
	}
	sl, err := f.Link()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, sl, nil
}

// typed peeks at a JSON file's "type".
type typed struct {
	Type string `json:"type"`
}

func readJSON(path, wantType string, v any) error {
	bz, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("txbuild: %w", err)
	}
	var t typed
	if err := json.Unmarshal(bz, &t); err != nil {
		return fmt.Errorf("txbuild: %s is not JSON: %v", path, err)
	}
	if t.Type != wantType {
		return fmt.Errorf("txbuild: %s is a %q file, not a %q file", path, t.Type, wantType)
	}
	if err := json.Unmarshal(bz, v); err != nil {
		return fmt.Errorf("txbuild: %s: %v", path, err)
	}
	return nil
}

// writeJSON writes v atomically (a temporary file, then a rename).
func writeJSON(path string, v any, perm os.FileMode) error {
	bz, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("txbuild: encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(bz, '\n'), perm); err != nil {
		return fmt.Errorf("txbuild: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("txbuild: %w", err)
	}
	return nil
}
