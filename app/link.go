package app

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/mykeyledger/mykey/app/types"
)

// link judges one citizen-signed link.
func (x *exec) link(sl *types.SignedLink) ([]item, error) {
	it, err := x.linkOne(sl, "")
	if err != nil {
		return nil, err
	}
	return []item{it}, nil
}

// linkBatch judges a provider's batch of citizen-signed links, each on its
// own. The batch as a whole needs a known, active provider's signature.
func (x *exec) linkBatch(s *types.SignedLinkBatch) ([]item, error) {
	b := s.Batch
	prov, err := getProvider(x.c, b.ProviderId)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(prov.GrantKey, b.SignBytes(), s.Signature) {
		return nil, ErrBadSignature.Wrapf("provider %q signature on link batch", b.ProviderId)
	}
	if prov.Status == types.ProviderStatus_PROVIDER_STATUS_SUSPENDED {
		return nil, ErrProviderSuspended.Wrapf("%q", b.ProviderId)
	}
	items := make([]item, 0, len(b.Links))
	for _, sl := range b.Links {
		it, err := x.linkOne(sl, b.ProviderId)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// linkOne judges one link; batchProvider, when set, is the provider that
// submitted it in a batch and must be the one the citizen signed for.
func (x *exec) linkOne(sl *types.SignedLink, batchProvider string) (item, error) {
	var (
		mykey string
		vl    *verifiedLink
	)
	rej, fatal := x.attempt(func(c *cache) error {
		var err error
		if batchProvider != "" && sl != nil && sl.Request != nil && sl.Request.ProviderId != batchProvider {
			return ErrWrongProvider.Wrapf("signed for %q, submitted by %q", sl.Request.ProviderId, batchProvider)
		}
		vl, err = x.app.verifyLinkStatic(sl, x.chainID, x.time)
		if err != nil {
			return err
		}
		mykey, err = x.applyVerifiedLink(c, vl)
		return err
	})
	if fatal != nil {
		return item{}, fatal
	}
	attrs := []string{}
	if sl != nil && sl.Request != nil {
		attrs = append(attrs, "program", sl.Request.ProgramId, "provider", sl.Request.ProviderId)
	}
	if vl != nil {
		attrs = append(attrs, "cert", vl.fp)
	}
	if mykey != "" && rej != nil {
		// A rejected attempt's own issuance was discarded with it: name
		// the person only if the ledger knows the ID.
		if known, err := x.c.Get(keyMyKey(mykey)); err != nil {
			return item{}, err
		} else if known == nil {
			mykey = ""
		}
	}
	if mykey != "" {
		attrs = append(attrs, "mykey_id", mykey)
	}
	return item{err: rej, event: event("link", append(attrs, outcome(rej)...)...)}, nil
}

// applyVerifiedLink applies the state rules to a link whose signature and
// certificate have been verified. It returns the person's MyKey ID
// whenever it is known, also with a rejection.
func (x *exec) applyVerifiedLink(c *cache, vl *verifiedLink) (string, error) {
	req := vl.req
	prog, err := getProgram(c, req.ProgramId)
	if err != nil {
		return "", err
	}
	if t := x.time.Unix(); t < prog.LinkStart || t >= prog.LinkEnd {
		return "", ErrWindowClosed.Wrapf("program %q takes links from %s to %s", prog.Id, unixText(prog.LinkStart), unixText(prog.LinkEnd))
	}
	prov, err := getProvider(c, req.ProviderId)
	if err != nil {
		return "", err
	}
	if prov.Status == types.ProviderStatus_PROVIDER_STATUS_SUSPENDED {
		return "", ErrProviderSuspended.Wrapf("%q", prov.Id)
	}
	var cr types.CertRecord
	if _, err := load(c, keyCert(vl.fp), &cr); err != nil {
		return "", err
	}
	if cr.Revoked {
		return cr.MykeyId, ErrCertRevoked.Wrapf("certificate %s revoked: %s", vl.fp, cr.RevokeReason)
	}
	var mk *types.MyKeyRecord
	if cr.MykeyId == "" {
		if mk, err = issueMyKey(c, vl.ref, x.height); err != nil {
			return "", err
		}
		cr.Cert = vl.ref
		cr.MykeyId = mk.Id
		if err := save(c, keyCert(vl.fp), &cr, 0); err != nil {
			return "", err
		}
	} else if mk, err = getMyKey(c, cr.MykeyId); err != nil {
		return "", err
	}
	existing, err := getLink(c, prog.Id, mk.Id)
	if err != nil {
		return mk.Id, err
	}
	if existing != nil {
		return mk.Id, ErrAlreadyLinked.Wrapf("MyKey ID %s is linked to provider %q in program %q", mk.Id, existing.ProviderId, prog.Id)
	}
	owner, err := c.Get(keyAccount(prog.Id, prov.Id, req.AccountCommitment))
	if err != nil {
		return mk.Id, err
	}
	if owner != nil {
		return mk.Id, ErrAccountLinked.Wrapf("provider %q account is linked to MyKey ID %s in program %q", prov.Id, owner, prog.Id)
	}
	l := &types.Linkage{
		ProgramId: prog.Id, MykeyId: mk.Id, ProviderId: prov.Id,
		AccountCommitment: req.AccountCommitment,
		Height:            x.height, Time: x.time.Unix(),
		Status: types.LinkStatus_LINK_STATUS_ACTIVE,
	}
	if err := x.putLink(c, l, "linked", ""); err != nil {
		return mk.Id, err
	}
	if !slices.Contains(mk.Programs, prog.Id) {
		mk.Programs = append(mk.Programs, prog.Id)
		if err := save(c, keyMyKey(mk.Id), mk, 0); err != nil {
			return mk.Id, err
		}
	}
	return mk.Id, x.addLinked(c, prog.Id, prov.Id, 1)
}

// putLink stores an active linkage with its account index and a history
// event of the given kind.
func (x *exec) putLink(c *cache, l *types.Linkage, kind, ref string) error {
	if err := save(c, keyLink(l.ProgramId, l.MykeyId), l, 0); err != nil {
		return err
	}
	c.Set(keyAccount(l.ProgramId, l.ProviderId, l.AccountCommitment), []byte(l.MykeyId), 0)
	return x.linkEvent(c, l, kind, ref)
}

// voidLink voids an active linkage, frees its account and records why.
func (x *exec) voidLink(c *cache, l *types.Linkage, kind, ref string) error {
	l.Status = types.LinkStatus_LINK_STATUS_VOIDED
	if err := save(c, keyLink(l.ProgramId, l.MykeyId), l, 0); err != nil {
		return err
	}
	c.Delete(keyAccount(l.ProgramId, l.ProviderId, l.AccountCommitment))
	if err := x.linkEvent(c, l, kind, ref); err != nil {
		return err
	}
	return x.addLinked(c, l.ProgramId, l.ProviderId, -1)
}

func (x *exec) linkEvent(c *cache, l *types.Linkage, kind, ref string) error {
	seq, err := nextSeq(c, keyEventSeq())
	if err != nil {
		return err
	}
	ev := &types.LinkEvent{
		ProgramId: l.ProgramId, MykeyId: l.MykeyId, Kind: kind,
		ProviderId: l.ProviderId, AccountCommitment: l.AccountCommitment,
		Height: x.height, Time: x.time.Unix(), Reference: ref,
	}
	return save(c, keyLinkHistory(l.ProgramId, l.MykeyId, seq), ev, 0)
}

func (x *exec) addLinked(c *cache, program, provider string, n int64) error {
	pt, err := getProgramTotals(c, program)
	if err != nil {
		return err
	}
	pt.Linked += n
	if err := save(c, keyProgramTotals(program), pt, 0); err != nil {
		return err
	}
	vt, err := getProviderTotals(c, program, provider)
	if err != nil {
		return err
	}
	vt.Linked += n
	return save(c, keyProviderTotals(program, provider), vt, 0)
}

func unixText(t int64) string {
	return fmt.Sprint(timeUTC(t).Format("2006-01-02T15:04:05Z"))
}
