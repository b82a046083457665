package app

import (
	"encoding/hex"

	"github.com/mykeyledger/mykey/app/types"
)

// certText names a certificate by its index in messages, events and
// history summaries: the first 16 hex digits, enough to tell certificates
// apart. Only a holder of the network pseudonym key can tell which
// certificate it is.
func certText(idx []byte) string {
	h := hex.EncodeToString(idx)
	if len(h) > 16 {
		h = h[:16]
	}
	return h
}

// redact returns the action as the history entry stores it: every
// certificate it names replaced by its index (issuer and serial cleared),
// so that the public history says what was done, to which MyKey IDs and
// why, without naming a card. A reference that is not well-formed keeps
// neither issuer nor serial. a itself, the signed action, is not changed.
func (x *exec) redact(a *types.GovAction) *types.GovAction {
	ref := func(r *types.CertRef) *types.CertRef {
		if r == nil {
			return nil
		}
		out := &types.CertRef{}
		if _, idx, err := x.normalizeCertRef(r); err == nil {
			out.Index = idx
		}
		return out
	}
	switch act := a.Action.(type) {
	case *types.GovAction_RevokeCertificates:
		if act.RevokeCertificates == nil {
			return a
		}
		rc := &types.RevokeCertificates{Reason: act.RevokeCertificates.Reason}
		for _, r := range act.RevokeCertificates.Certificates {
			rc.Certificates = append(rc.Certificates, ref(r))
		}
		return &types.GovAction{ChainId: a.ChainId, Sequence: a.Sequence,
			Action: &types.GovAction_RevokeCertificates{RevokeCertificates: rc}}
	case *types.GovAction_Succession:
		s := act.Succession
		if s == nil {
			return a
		}
		return &types.GovAction{ChainId: a.ChainId, Sequence: a.Sequence,
			Action: &types.GovAction_Succession{Succession: &types.Succession{
				OldCert: ref(s.OldCert), NewCert: ref(s.NewCert), Reason: s.Reason}}}
	}
	return a
}
