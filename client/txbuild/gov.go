package txbuild

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/keyfile"
)

// File types of k-of-n government signing.
const (
	ProposalFileType  = "mykey-gov-proposal"
	SignatureFileType = "mykey-gov-signature"
)

// ProposalFile is a government action waiting for signatures. Digest
// (SHA-256 of the action's sign bytes) is what key holders compare when
// they confirm they sign the same thing.
type ProposalFile struct {
	Type     string `json:"type"`
	ChainID  string `json:"chain_id"`
	Sequence uint64 `json:"sequence"`
	Action   string `json:"action"`
	Summary  string `json:"summary"`
	Digest   string `json:"digest"`
	// GovAction is the protobuf encoding of types.GovAction.
	GovAction []byte `json:"gov_action"`
}

// SignatureFile is one authority key holder's signature over a proposal.
type SignatureFile struct {
	Type      string `json:"type"`
	ChainID   string `json:"chain_id"`
	Sequence  uint64 `json:"sequence"`
	Action    string `json:"action"`
	Digest    string `json:"digest"`
	Signer    string `json:"signer"`
	PublicKey string `json:"public_key"` // hex
	Signature string `json:"signature"`  // hex
}

// Digest is the hex SHA-256 of a government action's sign bytes.
func Digest(a *types.GovAction) string {
	h := sha256.Sum256(a.SignBytes())
	return hex.EncodeToString(h[:])
}

// NewProposal describes an action (its chain ID and sequence set).
func NewProposal(a *types.GovAction) (*ProposalFile, error) {
	if a.Action == nil {
		return nil, errors.New("txbuild: government action without an action")
	}
	bz, err := a.Marshal()
	if err != nil {
		return nil, fmt.Errorf("txbuild: encode government action: %w", err)
	}
	return &ProposalFile{Type: ProposalFileType, ChainID: a.ChainId, Sequence: a.Sequence,
		Action: ActionName(a), Summary: Describe(a), Digest: Digest(a), GovAction: bz}, nil
}

// Decode returns the proposal's action, checking that the readable fields
// agree with it.
func (p *ProposalFile) Decode() (*types.GovAction, error) {
	var a types.GovAction
	if err := a.Unmarshal(p.GovAction); err != nil {
		return nil, fmt.Errorf("txbuild: government action does not decode: %w", err)
	}
	if a.Action == nil {
		return nil, errors.New("txbuild: the proposal holds no action")
	}
	if Digest(&a) != p.Digest || a.ChainId != p.ChainID || a.Sequence != p.Sequence {
		return nil, errors.New("txbuild: the proposal's digest, chain or sequence differ from its action: the file was edited")
	}
	return &a, nil
}

// SaveProposal writes a proposal file.
func SaveProposal(path string, p *ProposalFile) error { return writeJSON(path, p, 0o644) }

// LoadProposal reads a proposal file and decodes its action.
func LoadProposal(path string) (*ProposalFile, *types.GovAction, error) {
	var p ProposalFile
	if err := readJSON(path, ProposalFileType, &p); err != nil {
		return nil, nil, err
	}
	a, err := p.Decode()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, a, nil
}

// SaveSignature writes a signature file.
func SaveSignature(path string, s *SignatureFile) error { return writeJSON(path, s, 0o644) }

// LoadSignature reads a signature file.
func LoadSignature(path string) (*SignatureFile, error) {
	var s SignatureFile
	if err := readJSON(path, SignatureFileType, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// SignGov signs a government action with an authority key.
func SignGov(key *keyfile.Key, a *types.GovAction) (*SignatureFile, error) {
	if key.Role != keyfile.RoleGovernment {
		return nil, fmt.Errorf("txbuild: key %q is a %s key, not a government authority key", key.ID, key.Role)
	}
	return &SignatureFile{Type: SignatureFileType, ChainID: a.ChainId, Sequence: a.Sequence,
		Action: ActionName(a), Digest: Digest(a), Signer: key.ID,
		PublicKey: hex.EncodeToString(key.Public()),
		Signature: hex.EncodeToString(key.Sign(a.SignBytes()))}, nil
}

// Combine checks each signature against the action and returns the
// signed action, one signature per key, ordered by public key (so the
// transaction is the same whatever order the files came in). name[i]
// names sigs[i] in errors (a file name).
func Combine(a *types.GovAction, sigs []*SignatureFile, names []string) (*types.SignedGov, error) {
	digest := Digest(a)
	sb := a.SignBytes()
	seen := map[string]bool{}
	out := &types.SignedGov{Action: a}
	for i, s := range sigs {
		name := fmt.Sprintf("signature %d", i+1)
		if i < len(names) {
			name = names[i]
		}
		if s.Digest != digest {
			return nil, fmt.Errorf("txbuild: %s is a signature of another proposal (%s, sequence %d, digest %.12s…; this one is %s, sequence %d, digest %.12s…)",
				name, s.Action, s.Sequence, s.Digest, ActionName(a), a.Sequence, digest)
		}
		pub, err1 := hex.DecodeString(s.PublicKey)
		sig, err2 := hex.DecodeString(s.Signature)
		if err1 != nil || err2 != nil || len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
			return nil, fmt.Errorf("txbuild: %s: public_key must be 32 and signature 64 bytes of hex", name)
		}
		if !ed25519.Verify(pub, sb, sig) {
			return nil, fmt.Errorf("txbuild: %s: the signature of %q does not verify: the file is damaged", name, s.Signer)
		}
		if seen[string(pub)] {
			continue
		}
		seen[string(pub)] = true
		out.Signatures = append(out.Signatures, &types.GovSignature{PublicKey: pub, Signature: sig})
	}
	sort.Slice(out.Signatures, func(i, j int) bool {
		return bytes.Compare(out.Signatures[i].PublicKey, out.Signatures[j].PublicKey) < 0
	})
	return out, nil
}

// CheckAuthority judges signatures as the ledger will: every key must be
// an authority key of gs, and there must be at least its threshold.
func CheckAuthority(gs *types.GovState, s *types.SignedGov) error {
	for _, sig := range s.Signatures {
		known := false
		for _, k := range gs.Keys {
			known = known || bytes.Equal(k, sig.PublicKey)
		}
		if !known {
			return fmt.Errorf("txbuild: key %x is not one of the ledger's %d government authority keys", sig.PublicKey, len(gs.Keys))
		}
	}
	if len(s.Signatures) < int(gs.Threshold) {
		return fmt.Errorf("txbuild: %d of the %d signatures the ledger requires: collect more with `mykey gov sign`", len(s.Signatures), gs.Threshold)
	}
	return nil
}

// GovTx encodes a signed government action.
func GovTx(s *types.SignedGov) ([]byte, error) { return types.EncodeTx(types.WrapGov(s)) }
