package app

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/types"
)

// Stateless checks: everything that can be judged from the transaction's
// bytes, the chain ID and the block time alone. PrepareProposal drops, and
// ProcessProposal refuses, a transaction that fails them; CheckTx and
// FinalizeBlock run them before any state is read.

// verifiedLink is a link request whose certificate chains to a trust
// anchor, is valid at block time, and whose card signature verifies.
type verifiedLink struct {
	req *types.LinkRequest
	ref *types.CertRef // in memory only: the state never holds it
	idx []byte         // the certificate's index: its store key
	// issuerKey is jpki.IssuerKey of the CA key that signed the
	// certificate (nil for bulk-loaded links).
	issuerKey []byte
}

// verifyLinkStatic checks a citizen-signed link at block time at.
func (a *App) verifyLinkStatic(sl *types.SignedLink, chainID string, at time.Time) (*verifiedLink, error) {
	if sl == nil {
		return nil, types.ErrMalformed.Wrapf("empty link")
	}
	req := sl.Request
	if err := validateLinkRequestFields(req); err != nil {
		return nil, err
	}
	if len(sl.Signature) == 0 {
		return nil, types.ErrMalformed.Wrapf("no card signature")
	}
	if req.ChainId != chainID {
		return nil, types.ErrWrongChain.Wrapf("signed for %q, this chain is %q", req.ChainId, chainID)
	}
	now := at.Unix()
	if req.ExpiresAt <= now {
		return nil, types.ErrExpired.Wrapf("expired at %s, block time %s",
			time.Unix(req.ExpiresAt, 0).UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if req.ExpiresAt > now+types.MaxLinkValidity {
		return nil, types.ErrMalformed.Wrapf("expiry more than %d hours after block time", types.MaxLinkValidity/3600)
	}
	cert, issuerKey, err := a.verifier.VerifyCertificateIssuer(req.Certificate, at)
	if err != nil {
		return nil, certRejection(err)
	}
	sb := req.SignBytes()
	if !a.sigs.seen(req.Certificate, sb, sl.Signature) {
		if err := jpki.VerifySignature(cert, sb, sl.Signature); err != nil {
			return nil, types.ErrBadSignature.Wrapf("card signature")
		}
		a.sigs.add(req.Certificate, sb, sl.Signature)
	}
	id := jpki.IDOf(cert)
	return &verifiedLink{
		req:       req,
		ref:       &types.CertRef{Issuer: id.Issuer, Serial: id.Serial},
		idx:       a.pk.CertIndex(id.Issuer, id.Serial),
		issuerKey: issuerKey,
	}, nil
}

// certRejection maps a jpki refusal to its rejection code.
func certRejection(err error) error {
	var je *jpki.Error
	if errors.As(err, &je) {
		switch je.Reason {
		case jpki.Malformed:
			return types.ErrMalformed.Wrapf("certificate: %s", je.Detail)
		case jpki.NotYetValid, jpki.Expired:
			return types.ErrCertExpired.Wrapf("%s", je.Detail)
		case jpki.KeyUsage, jpki.WeakKey:
			return types.ErrCertKeyUsage.Wrapf("%s", je.Detail)
		case jpki.BadSignature:
			return types.ErrBadSignature.Wrapf("%s", je.Detail)
		}
	}
	return types.ErrUntrustedCert.Wrapf("%v", err)
}

// staticCheck judges a transaction without state. It returns the decoded
// transaction, or a rejection that holds whatever the state.
func (a *App) staticCheck(bz []byte, chainID string, at time.Time) (*types.Tx, error) {
	tx, err := types.DecodeTx(bz)
	if err != nil {
		return nil, types.ErrMalformed.Wrapf("%v", err)
	}
	switch b := tx.Body.(type) {
	case *types.Tx_Link:
		_, err = a.verifyLinkStatic(b.Link, chainID, at)
	case *types.Tx_LinkBatch:
		err = validateLinkBatch(b.LinkBatch, chainID)
	case *types.Tx_Grant:
		err = validateGrant(b.Grant, chainID)
	case *types.Tx_Gov:
		err = validateGov(b.Gov, chainID)
	default:
		err = types.ErrMalformed.Wrapf("unknown transaction body")
	}
	if err != nil {
		return nil, err
	}
	return tx, nil
}

func validateLinkBatch(s *types.SignedLinkBatch, chainID string) error {
	if s == nil || s.Batch == nil {
		return types.ErrMalformed.Wrapf("empty link batch")
	}
	b := s.Batch
	switch {
	case b.ChainId != chainID:
		return types.ErrWrongChain.Wrapf("signed for %q, this chain is %q", b.ChainId, chainID)
	case !validID(b.ProviderId):
		return types.ErrMalformed.Wrapf("provider id %q", b.ProviderId)
	case len(b.Links) == 0 || len(b.Links) > types.MaxLinksPerBatch:
		return types.ErrMalformed.Wrapf("a batch holds 1-%d links, this one %d", types.MaxLinksPerBatch, len(b.Links))
	case len(s.Signature) != 64:
		return types.ErrMalformed.Wrapf("provider signature must be 64 bytes")
	}
	return nil
}

func validateGrant(s *types.SignedGrant, chainID string) error {
	if s == nil || s.Grant == nil {
		return types.ErrMalformed.Wrapf("empty grant")
	}
	g := s.Grant
	switch {
	case g.ChainId != chainID:
		return types.ErrWrongChain.Wrapf("signed for %q, this chain is %q", g.ChainId, chainID)
	case !validID(g.ProviderId):
		return types.ErrMalformed.Wrapf("provider id %q", g.ProviderId)
	case len(g.Charges) == 0 || len(g.Charges) > types.MaxChargesPerTx:
		return types.ErrMalformed.Wrapf("a grant holds 1-%d charges, this one %d", types.MaxChargesPerTx, len(g.Charges))
	case len(s.Signature) != 64:
		return types.ErrMalformed.Wrapf("provider signature must be 64 bytes")
	}
	for i, ch := range g.Charges {
		if err := validateCharge(ch); err != nil {
			return types.ErrMalformed.Wrapf("charge %d: %v", i, err)
		}
	}
	return nil
}

func validateGov(s *types.SignedGov, chainID string) error {
	if s == nil || s.Action == nil || s.Action.Action == nil {
		return types.ErrMalformed.Wrapf("empty government action")
	}
	if s.Action.ChainId != chainID {
		return types.ErrWrongChain.Wrapf("signed for %q, this chain is %q", s.Action.ChainId, chainID)
	}
	if n := s.Action.Size(); n > types.MaxGovActionBytes {
		return types.ErrTooLarge.Wrapf("a government action is at most %d bytes, this one %d", types.MaxGovActionBytes, n)
	}
	if len(s.Signatures) == 0 || len(s.Signatures) > 32 {
		return types.ErrMalformed.Wrapf("a government action carries 1-32 signatures, this one %d", len(s.Signatures))
	}
	seen := make(map[string]bool, len(s.Signatures))
	for i, sig := range s.Signatures {
		if len(sig.PublicKey) != 32 || len(sig.Signature) != 64 {
			return types.ErrMalformed.Wrapf("signature %d: ed25519 key 32 bytes and signature 64 bytes", i)
		}
		if seen[string(sig.PublicKey)] {
			return types.ErrMalformed.Wrapf("signature %d: key signs twice", i)
		}
		seen[string(sig.PublicKey)] = true
	}
	return nil
}

// sigCache remembers card signatures already verified on this node, so a
// transaction checked in CheckTx is not verified again in ProcessProposal
// and FinalizeBlock. It holds only successes of a pure function of its key,
// so whether an entry is present never changes a result, only its cost.
type sigCache struct {
	mu      sync.Mutex
	entries map[[32]byte]struct{}
	max     int
}

func newSigCache(max int) *sigCache {
	return &sigCache{entries: make(map[[32]byte]struct{}), max: max}
}

func sigKey(cert, signBytes, sig []byte) [32]byte {
	h := sha256.New()
	h.Write(cert)
	h.Write([]byte{0})
	h.Write(sig)
	h.Write([]byte{0})
	h.Write(signBytes)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (s *sigCache) seen(cert, signBytes, sig []byte) bool {
	k := sigKey(cert, signBytes, sig)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.entries[k]
	return ok
}

func (s *sigCache) add(cert, signBytes, sig []byte) {
	k := sigKey(cert, signBytes, sig)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= s.max {
		clear(s.entries)
	}
	s.entries[k] = struct{}{}
}
