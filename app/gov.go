package app

import (
	"crypto/ed25519"
	"fmt"
	"math/big"
	"slices"
	"strconv"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/types"
)

// gov judges a government action: k of n authority signatures and the
// next sequence number, then the action itself. Once the signatures verify
// and the sequence is the next one, the action has taken effect as far as
// it ever will: its sequence number is used up and its history entry
// written whatever its outcome, so a rejected action cannot be replayed
// once the state would let it through (as an account sequence is consumed
// by Cosmos SDK's ante handler). A rejected action changes nothing else,
// and sends no validator update.
func (x *exec) gov(s *types.SignedGov) ([]item, error) {
	a := s.Action
	attrs := []string{types.AttrAction, types.GovActionName(a), types.AttrSequence, strconv.FormatUint(a.Sequence, 10)}
	gs, err := getGov(x.c)
	if err != nil {
		return nil, err
	}
	if err := authorize(gs, s); err != nil {
		return []item{{err: err, event: event(types.EventGov, append(attrs, outcome(err)...)...)}}, nil
	}
	if a.Sequence != gs.NextSequence {
		err := types.ErrBadSequence.Wrapf("got %d, next is %d", a.Sequence, gs.NextSequence)
		return []item{{err: err, event: event(types.EventGov, append(attrs, outcome(err)...)...)}}, nil
	}
	var summary string
	before := x.vals.save()
	rej, fatal := x.attempt(func(c *cache) error {
		var err error
		if summary, err = x.applyGov(c, a); err != nil {
			return err
		}
		return x.vals.check(c)
	})
	if fatal != nil {
		return nil, fatal
	}
	h := &types.HistoryEntry{Sequence: a.Sequence, Height: x.height, Time: x.time.Unix(), Action: x.redact(a), Summary: summary}
	if rej != nil {
		x.vals = before
		h.Code, h.Summary = types.ABCIInfo(rej)
	} else {
		attrs = append(attrs, types.AttrSummary, summary)
	}
	gs.NextSequence++
	if err := save(x.c, types.KeyGov(), gs, 0); err != nil {
		return nil, err
	}
	if err := save(x.c, types.KeyHistory(a.Sequence), h, 0); err != nil {
		return nil, err
	}
	return []item{{err: rej, event: event(types.EventGov, append(attrs, outcome(rej)...)...)}}, nil
}

// authorize counts valid signatures by distinct authority keys.
func authorize(gs *types.GovState, s *types.SignedGov) error {
	sb := s.Action.SignBytes()
	valid := uint32(0)
	for _, sig := range s.Signatures {
		known := false
		for _, k := range gs.Keys {
			if string(k) == string(sig.PublicKey) {
				known = true
				break
			}
		}
		if !known {
			return types.ErrUnauthorized.Wrapf("key %x is not a government authority key", sig.PublicKey)
		}
		if !ed25519.Verify(sig.PublicKey, sb, sig.Signature) {
			return types.ErrBadSignature.Wrapf("authority key %x", sig.PublicKey)
		}
		valid++
	}
	if valid < gs.Threshold {
		return types.ErrUnauthorized.Wrapf("%d of the required %d authority signatures", valid, gs.Threshold)
	}
	return nil
}

func (x *exec) applyGov(c *cache, a *types.GovAction) (string, error) {
	switch act := a.Action.(type) {
	case *types.GovAction_RegisterProvider:
		return x.registerProvider(c, act.RegisterProvider)
	case *types.GovAction_UpdateProvider:
		return x.updateProvider(c, act.UpdateProvider)
	case *types.GovAction_SetProgram:
		return x.setProgram(c, act.SetProgram)
	case *types.GovAction_RevokeCertificates:
		return x.revoke(c, act.RevokeCertificates)
	case *types.GovAction_Succession:
		return x.succession(c, act.Succession)
	case *types.GovAction_AttestEligibility:
		return x.attest(c, act.AttestEligibility)
	case *types.GovAction_Settle:
		return x.settle(c, act.Settle)
	case *types.GovAction_CorrectLinkage:
		return x.correct(c, act.CorrectLinkage)
	case *types.GovAction_SetNodes:
		return x.setNodes(c, act.SetNodes)
	}
	return "", types.ErrMalformed.Wrapf("unknown government action")
}

func (x *exec) registerProvider(c *cache, r *types.RegisterProvider) (string, error) {
	p := r.Provider
	if err := types.CheckProvider(p); err != nil {
		return "", err
	}
	if old, err := c.Get(types.KeyProvider(p.Id)); err != nil || old != nil {
		if err != nil {
			return "", err
		}
		return "", types.ErrInvalidAction.Wrapf("provider %q is already registered", p.Id)
	}
	p.Status = types.ProviderStatus_PROVIDER_STATUS_ACTIVE
	if len(p.ValidatorKey) > 0 {
		if err := x.claimValidatorKey(c, p.ValidatorKey, p.Id); err != nil {
			return "", err
		}
		x.vals.setPower(p.ValidatorKey, p.Power)
	}
	return fmt.Sprintf("registered provider %q", p.Id), save(c, types.KeyProvider(p.Id), p, 0)
}

func (x *exec) updateProvider(c *cache, u *types.UpdateProvider) (string, error) {
	p, err := getProvider(c, u.ProviderId)
	if err != nil {
		return "", err
	}
	summary := fmt.Sprintf("updated provider %q:", p.Id)
	switch u.Status {
	case types.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED:
	case types.ProviderStatus_PROVIDER_STATUS_ACTIVE, types.ProviderStatus_PROVIDER_STATUS_SUSPENDED:
		p.Status = u.Status
		summary += " status " + u.Status.String()
	default:
		return "", types.ErrMalformed.Wrapf("unknown provider status %v", u.Status)
	}
	if len(u.GrantKey) > 0 {
		if err := types.ValidKey(u.GrantKey); err != nil {
			return "", types.ErrMalformed.Wrapf("grant key %v", err)
		}
		p.GrantKey = u.GrantKey
		summary += " grant key rotated"
	}
	if len(u.ValidatorKey) > 0 {
		if err := types.ValidKey(u.ValidatorKey); err != nil {
			return "", types.ErrMalformed.Wrapf("validator key %v", err)
		}
		if err := x.claimValidatorKey(c, u.ValidatorKey, p.Id); err != nil {
			return "", err
		}
		if len(p.ValidatorKey) > 0 && p.Power > 0 {
			x.vals.setPower(p.ValidatorKey, 0)
			x.vals.setPower(u.ValidatorKey, p.Power)
		}
		p.ValidatorKey = u.ValidatorKey
		summary += " validator key replaced"
	}
	if u.SetPower {
		if u.Power < 0 || (u.Power > 0 && len(p.ValidatorKey) == 0) {
			return "", types.ErrInvalidAction.Wrapf("power %d needs a validator key and must not be negative", u.Power)
		}
		if u.Power > 0 {
			if err := types.ValidPower(u.Power, cmttypes.MaxTotalVotingPower); err != nil {
				return "", types.ErrInvalidAction.Wrapf("%v", err)
			}
		}
		p.Power = u.Power
		if len(p.ValidatorKey) > 0 {
			x.vals.setPower(p.ValidatorKey, u.Power)
		}
		summary += fmt.Sprintf(" power %d", u.Power)
	}
	return summary, save(c, types.KeyProvider(p.Id), p, 0)
}

// claimValidatorKey records which provider owns a validator key; a key
// serves one provider only.
func (x *exec) claimValidatorKey(c *cache, key []byte, owner string) error {
	k := types.KeyValidator(key)
	cur, err := c.Get(k)
	if err != nil {
		return err
	}
	if cur != nil && string(cur) != owner {
		return types.ErrInvalidAction.Wrapf("validator key %x belongs to %q", key, cur)
	}
	c.Set(k, []byte(owner), 0)
	return nil
}

func (x *exec) setProgram(c *cache, s *types.SetProgram) (string, error) {
	p := s.Program
	if err := types.CheckProgram(p); err != nil {
		return "", err
	}
	totals, err := getProgramTotals(c, p.Id)
	if err != nil {
		return "", err
	}
	if p.BudgetYen < totals.GrantedYen {
		return "", types.ErrInvalidAction.Wrapf("budget %d yen is below the %d yen already granted", p.BudgetYen, totals.GrantedYen)
	}
	verb := "added"
	if old, err := c.Get(types.KeyProgram(p.Id)); err != nil {
		return "", err
	} else if old != nil {
		var prev types.Program
		if err := prev.Unmarshal(old); err != nil {
			return "", fmt.Errorf("app: decode program %q: %w", p.Id, err)
		}
		if prev.Kind != p.Kind {
			return "", types.ErrInvalidAction.Wrapf("program %q cannot change kind", p.Id)
		}
		verb = "updated"
	}
	if err := save(c, types.KeyProgramTotals(p.Id), totals, 0); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s program %q", verb, p.Id), save(c, types.KeyProgram(p.Id), p, 0)
}

// normalizeCertRef checks a certificate reference and gives its serial the
// minimal encoding the ledger indexes certificates by; it returns the
// certificate's index.
func (x *exec) normalizeCertRef(r *types.CertRef) (*types.CertRef, []byte, error) {
	if r == nil || len(r.Issuer) == 0 || len(r.Serial) == 0 || len(r.Issuer) > 1024 || len(r.Serial) > 32 {
		return nil, nil, types.ErrMalformed.Wrapf("certificate reference needs an issuer and a serial number")
	}
	if len(r.Index) > 0 {
		return nil, nil, types.ErrMalformed.Wrapf("a certificate reference in a transaction names issuer and serial, not an index")
	}
	ref := &types.CertRef{Issuer: r.Issuer, Serial: new(big.Int).SetBytes(r.Serial).Bytes()}
	return ref, x.app.pk.CertIndex(ref.Issuer, ref.Serial), nil
}

func (x *exec) revoke(c *cache, r *types.RevokeCertificates) (string, error) {
	if len(r.Certificates) == 0 || len(r.Certificates) > 10000 || !validText(r.Reason, types.MaxTextLen) {
		return "", types.ErrMalformed.Wrapf("revocation needs 1-10000 certificates and a printable reason")
	}
	for _, ref := range r.Certificates {
		_, idx, err := x.normalizeCertRef(ref)
		if err != nil {
			return "", err
		}
		var cr types.CertRecord
		if _, err := load(c, types.KeyCert(idx), &cr); err != nil {
			return "", err
		}
		if cr.Revoked {
			continue
		}
		cr.Revoked, cr.RevokedHeight, cr.RevokeReason = true, x.height, r.Reason
		if err := save(c, types.KeyCert(idx), &cr, 0); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("revoked %d certificates: %s", len(r.Certificates), r.Reason), nil
}

func (x *exec) attest(c *cache, a *types.AttestEligibility) (string, error) {
	prog, err := getProgram(c, a.ProgramId)
	if err != nil {
		return "", err
	}
	if prog.Kind != types.ProgramKind_PROGRAM_KIND_FIXED {
		return "", types.ErrInvalidAction.Wrapf("program %q is not a fixed program", prog.Id)
	}
	if len(a.MykeyIds) == 0 || len(a.MykeyIds) > 10000 {
		return "", types.ErrMalformed.Wrapf("attestation needs 1-10000 MyKey IDs")
	}
	for _, id := range a.MykeyIds {
		if !types.ValidMyKeyID(id) {
			return "", types.ErrMalformed.Wrapf("MyKey ID %q", id)
		}
		mk, err := getMyKey(c, id)
		if err != nil {
			return "", err
		}
		p, err := getPerson(c, prog.Id, mk.Id)
		if err != nil {
			return "", err
		}
		p.Attested = true
		if err := save(c, types.KeyPerson(prog.Id, mk.Id), p, 0); err != nil {
			return "", err
		}
		// The person takes part in the program from now on, linked or
		// not, so a merge carries the attestation over.
		if !slices.Contains(mk.Programs, prog.Id) {
			mk.Programs = append(mk.Programs, prog.Id)
			if err := save(c, types.KeyMyKey(mk.Id), mk, 0); err != nil {
				return "", err
			}
		}
	}
	return fmt.Sprintf("attested %d people for program %q", len(a.MykeyIds), prog.Id), nil
}

func (x *exec) settle(c *cache, s *types.Settle) (string, error) {
	if _, err := getProgram(c, s.ProgramId); err != nil {
		return "", err
	}
	if _, err := getProvider(c, s.ProviderId); err != nil {
		return "", err
	}
	if s.AmountYen <= 0 || s.AmountYen > types.MaxAmountYen*1000 || s.Reference == "" || !validText(s.Reference, types.MaxTextLen) {
		return "", types.ErrMalformed.Wrapf("settlement needs a positive amount and a reference")
	}
	vt, err := getProviderTotals(c, s.ProgramId, s.ProviderId)
	if err != nil {
		return "", err
	}
	outstanding := vt.GrantedYen - vt.SettledYen - vt.RecoveredYen
	if s.AmountYen > outstanding {
		return "", types.ErrSettlementTooLarge.Wrapf("%d yen settled, %d yen outstanding for provider %q in program %q", s.AmountYen, outstanding, s.ProviderId, s.ProgramId)
	}
	vt.SettledYen += s.AmountYen
	return fmt.Sprintf("settled %d yen with provider %q in program %q (%s)", s.AmountYen, s.ProviderId, s.ProgramId, s.Reference),
		save(c, types.KeyProviderTotals(s.ProgramId, s.ProviderId), vt, 0)
}

func (x *exec) correct(c *cache, k *types.CorrectLinkage) (string, error) {
	if k.IncidentRef == "" || !validText(k.IncidentRef, types.MaxTextLen) {
		return "", types.ErrMalformed.Wrapf("a correction needs an incident reference")
	}
	if !types.ValidMyKeyID(k.MykeyId) {
		return "", types.ErrMalformed.Wrapf("MyKey ID %q", k.MykeyId)
	}
	if _, err := getProgram(c, k.ProgramId); err != nil {
		return "", err
	}
	mk, err := getMyKey(c, k.MykeyId)
	if err != nil {
		return "", err
	}
	l, err := getLink(c, k.ProgramId, mk.Id)
	if err != nil {
		return "", err
	}
	if l == nil {
		return "", types.ErrNotLinked.Wrapf("MyKey ID %s has no linkage in program %q", mk.Id, k.ProgramId)
	}
	switch k.Kind {
	case types.CorrectionKind_CORRECTION_KIND_VOID:
		return fmt.Sprintf("voided linkage of %s to %q in program %q (%s)", mk.Id, l.ProviderId, k.ProgramId, k.IncidentRef),
			x.voidLink(c, l, types.LinkEventVoided, k.IncidentRef)
	case types.CorrectionKind_CORRECTION_KIND_MOVE:
		if len(k.ToAccountCommitment) != types.CommitmentLen {
			return "", types.ErrMalformed.Wrapf("account commitment must be %d bytes", types.CommitmentLen)
		}
		to, err := getProvider(c, k.ToProviderId)
		if err != nil {
			return "", err
		}
		owner, err := c.Get(types.KeyAccount(k.ProgramId, to.Id, k.ToAccountCommitment))
		if err != nil {
			return "", err
		}
		if owner != nil {
			return "", types.ErrAccountLinked.Wrapf("provider %q account is linked to MyKey ID %s", to.Id, owner)
		}
		from := l.ProviderId
		if err := x.voidLink(c, l, types.LinkEventMovedFrom, k.IncidentRef); err != nil {
			return "", err
		}
		moved := &types.Linkage{
			ProgramId: k.ProgramId, MykeyId: mk.Id, ProviderId: to.Id, AccountCommitment: k.ToAccountCommitment,
			Height: x.height, Time: x.time.Unix(), Status: types.LinkStatus_LINK_STATUS_ACTIVE,
		}
		if err := x.putLink(c, moved, types.LinkEventMovedTo, k.IncidentRef); err != nil {
			return "", err
		}
		return fmt.Sprintf("moved linkage of %s from %q to %q in program %q (%s)", mk.Id, from, to.Id, k.ProgramId, k.IncidentRef),
			x.addLinked(c, k.ProgramId, to.Id, 1)
	}
	return "", types.ErrMalformed.Wrapf("correction kind must be void or move")
}
