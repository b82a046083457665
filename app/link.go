package app

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
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
// own. The batch as a whole needs a known provider's signature; a
// suspended provider's links are each rejected (and used up).
func (x *exec) linkBatch(s *types.SignedLinkBatch) ([]item, error) {
	b := s.Batch
	prov, err := getProvider(x.c, b.ProviderId)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(prov.GrantKey, b.SignBytes(), s.Signature) {
		return nil, types.ErrBadSignature.Wrapf("provider %q signature on link batch", b.ProviderId)
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
//
// A link whose card signature verifies is judged once: its request is
// recorded as used whatever the outcome, so the signed request cannot take
// effect later (after a correction voided its linkage, say) without a new
// signature. The record is kept; a request is void after its expiry anyway.
func (x *exec) linkOne(sl *types.SignedLink, batchProvider string) (item, error) {
	var (
		mykey string
		vl    *verifiedLink
		hash  []byte // the request's keyed hash, to record as judged
	)
	rej, fatal := x.attempt(func(c *cache) error {
		var err error
		if batchProvider != "" && sl != nil && sl.Request != nil && sl.Request.ProviderId != batchProvider {
			return types.ErrWrongProvider.Wrapf("signed for %q, submitted by %q", sl.Request.ProviderId, batchProvider)
		}
		vl, err = x.app.verifyLinkStatic(sl, x.chainID, x.time)
		if err != nil {
			return err
		}
		h := x.app.pk.LinkRequest(vl.req.SignBytes())
		var cr types.CertRecord
		if _, err := load(c, types.KeyCert(vl.idx), &cr); err != nil {
			return err
		}
		live := x.liveJudged(cr.Judged)
		if slices.ContainsFunc(live, func(j *types.JudgedRequest) bool { return bytes.Equal(j.Hash, h) }) {
			return x.replayedLink(c, vl, &cr, &mykey)
		}
		if len(live) >= types.MaxJudgedRequests {
			return types.ErrTooManyRequests.Wrapf("certificate %s has %d link requests judged that have not expired", certText(vl.idx), len(live))
		}
		hash = h
		mykey, err = x.applyLinkWithCert(c, vl, &cr)
		return err
	})
	if fatal != nil {
		return item{}, fatal
	}
	if hash != nil {
		if err := x.recordJudged(vl.idx, hash, vl.req.ExpiresAt); err != nil {
			return item{}, err
		}
	}
	attrs := []string{}
	if sl != nil && sl.Request != nil {
		attrs = append(attrs, types.AttrProgram, sl.Request.ProgramId, types.AttrProvider, sl.Request.ProviderId)
	}
	if vl != nil {
		attrs = append(attrs, types.AttrCert, hex.EncodeToString(vl.idx))
	}
	if mykey != "" && rej != nil {
		// A rejected attempt's own issuance was discarded with it: name
		// the person only if the ledger knows the ID.
		if known, err := x.c.Get(types.KeyMyKey(mykey)); err != nil {
			return item{}, err
		} else if known == nil {
			mykey = ""
		}
	}
	if mykey != "" {
		attrs = append(attrs, types.AttrMyKeyID, mykey)
	}
	return item{err: rej, event: event(types.EventLink, append(attrs, outcome(rej)...)...)}, nil
}

// liveJudged returns the judged requests that have not expired at block
// time. An expired request is refused before its record is consulted, so
// forgetting it cannot let it take effect again.
func (x *exec) liveJudged(js []*types.JudgedRequest) []*types.JudgedRequest {
	now := x.time.Unix()
	return slices.DeleteFunc(slices.Clone(js), func(j *types.JudgedRequest) bool { return j.ExpiresAt <= now })
}

// recordJudged records a link request as judged in its certificate's
// record, whatever the outcome of the link, and drops the expired ones.
func (x *exec) recordJudged(idx, hash []byte, expires int64) error {
	var cr types.CertRecord
	if _, err := load(x.c, types.KeyCert(idx), &cr); err != nil {
		return err
	}
	cr.Judged = append(x.liveJudged(cr.Judged), &types.JudgedRequest{Hash: hash, ExpiresAt: expires})
	return save(x.c, types.KeyCert(idx), &cr, 0)
}

// replayedLink answers a signed link request that was judged before. A
// retry of a request that took effect, whose linkage still stands as it
// made it, is told already_linked with the person's MyKey ID, as the
// first answer was; any other replay (its linkage voided or moved since,
// or the request rejected the first time) is refused as replayed. Neither
// changes anything. cr is the certificate's record, which holds the
// request as judged.
func (x *exec) replayedLink(c *cache, vl *verifiedLink, cr *types.CertRecord, mykey *string) error {
	replayed := types.ErrReplayed.Wrapf("this signed link request was judged before, at an earlier height; sign a new one")
	if cr.MykeyId == "" {
		return replayed
	}
	l, err := getLink(c, vl.req.ProgramId, cr.MykeyId)
	if err != nil {
		return err
	}
	if l == nil || l.ProviderId != vl.req.ProviderId || !bytes.Equal(l.AccountCommitment, vl.req.AccountCommitment) {
		return replayed
	}
	*mykey = cr.MykeyId
	return types.ErrAlreadyLinked.Wrapf("MyKey ID %s is linked to provider %q in program %q by this request", cr.MykeyId, l.ProviderId, l.ProgramId)
}

// applyVerifiedLink applies the state rules to a link whose signature and
// certificate have been verified. It returns the person's MyKey ID
// whenever it is known, also with a rejection.
func (x *exec) applyVerifiedLink(c *cache, vl *verifiedLink) (string, error) {
	var cr types.CertRecord
	if _, err := load(c, types.KeyCert(vl.idx), &cr); err != nil {
		return "", err
	}
	return x.applyLinkWithCert(c, vl, &cr)
}

// applyLinkWithCert is applyVerifiedLink with the certificate's record
// already read from c (linkOne reads it to find the judged requests).
func (x *exec) applyLinkWithCert(c *cache, vl *verifiedLink, cr *types.CertRecord) (string, error) {
	req := vl.req
	prog, err := getProgram(c, req.ProgramId)
	if err != nil {
		return "", err
	}
	if t := x.time.Unix(); t < prog.LinkStart || t >= prog.LinkEnd {
		return "", types.ErrWindowClosed.Wrapf("program %q takes links from %s to %s", prog.Id, unixText(prog.LinkStart), unixText(prog.LinkEnd))
	}
	prov, err := getProvider(c, req.ProviderId)
	if err != nil {
		return "", err
	}
	if prov.Status == types.ProviderStatus_PROVIDER_STATUS_SUSPENDED {
		return "", types.ErrProviderSuspended.Wrapf("%q", prov.Id)
	}
	if len(cr.IssuerKey) > 0 && vl.issuerKey != nil && !bytes.Equal(cr.IssuerKey, vl.issuerKey) {
		return "", types.ErrCertConflict.Wrapf("certificate %s: the ledger holds a certificate with this issuer name and serial number from another CA key", certText(vl.idx))
	}
	if cr.Revoked {
		return cr.MykeyId, types.ErrCertRevoked.Wrapf("certificate %s revoked: %s", certText(vl.idx), cr.RevokeReason)
	}
	if len(cr.IssuerKey) == 0 && vl.issuerKey != nil {
		// First presented: from now on this name and serial mean the
		// certificate of this CA key.
		cr.IssuerKey = vl.issuerKey
		if cr.MykeyId != "" {
			if err := save(c, types.KeyCert(vl.idx), cr, 0); err != nil {
				return "", err
			}
		}
	}
	var mk *types.MyKeyRecord
	if cr.MykeyId == "" {
		if mk, err = issueMyKey(c, x.app.pk, vl.ref, vl.idx, x.height); err != nil {
			return "", err
		}
		cr.MykeyId = mk.Id
		if err := save(c, types.KeyCert(vl.idx), cr, 0); err != nil {
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
		return mk.Id, types.ErrAlreadyLinked.Wrapf("MyKey ID %s is linked to provider %q in program %q", mk.Id, existing.ProviderId, prog.Id)
	}
	owner, err := c.Get(types.KeyAccount(prog.Id, prov.Id, req.AccountCommitment))
	if err != nil {
		return mk.Id, err
	}
	if owner != nil {
		return mk.Id, types.ErrAccountLinked.Wrapf("provider %q account is linked to MyKey ID %s in program %q", prov.Id, owner, prog.Id)
	}
	l := &types.Linkage{
		ProgramId: prog.Id, MykeyId: mk.Id, ProviderId: prov.Id,
		AccountCommitment: req.AccountCommitment,
		Height:            x.height, Time: x.time.Unix(),
		Status: types.LinkStatus_LINK_STATUS_ACTIVE,
	}
	if err := x.putLink(c, l, types.LinkEventLinked, ""); err != nil {
		return mk.Id, err
	}
	if !slices.Contains(mk.Programs, prog.Id) {
		mk.Programs = append(mk.Programs, prog.Id)
		if err := save(c, types.KeyMyKey(mk.Id), mk, 0); err != nil {
			return mk.Id, err
		}
	}
	return mk.Id, x.addLinked(c, prog.Id, prov.Id, 1)
}

// putLink stores an active linkage with its account index. Its history is
// the history already recorded under its key (a voided linkage of the same
// person, say), the events it brings (a merged-away linkage's), and an
// event of the given kind, in the order they happened.
func (x *exec) putLink(c *cache, l *types.Linkage, kind, ref string) error {
	prev, err := getLinkRecord(c, l.ProgramId, l.MykeyId)
	if err != nil {
		return err
	}
	if prev != nil {
		l.History = append(slices.Clone(prev.History), l.History...)
	}
	if err := x.addLinkEvent(c, l, kind, ref); err != nil {
		return err
	}
	slices.SortStableFunc(l.History, func(a, b *types.LinkEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	if err := save(c, types.KeyLink(l.ProgramId, l.MykeyId), l, 0); err != nil {
		return err
	}
	c.Set(types.KeyAccount(l.ProgramId, l.ProviderId, l.AccountCommitment), []byte(l.MykeyId), 0)
	return nil
}

// voidLink voids an active linkage, frees its account and records why.
func (x *exec) voidLink(c *cache, l *types.Linkage, kind, ref string) error {
	l.Status = types.LinkStatus_LINK_STATUS_VOIDED
	if err := x.addLinkEvent(c, l, kind, ref); err != nil {
		return err
	}
	if err := save(c, types.KeyLink(l.ProgramId, l.MykeyId), l, 0); err != nil {
		return err
	}
	c.Delete(types.KeyAccount(l.ProgramId, l.ProviderId, l.AccountCommitment))
	return x.addLinked(c, l.ProgramId, l.ProviderId, -1)
}

// addLinkEvent appends an event of the given kind, describing l as it is
// now, to l's history.
func (x *exec) addLinkEvent(c *cache, l *types.Linkage, kind, ref string) error {
	seq, err := nextSeq(c, types.KeyEventSeq())
	if err != nil {
		return err
	}
	l.History = append(l.History, &types.LinkEvent{
		ProgramId: l.ProgramId, MykeyId: l.MykeyId, Kind: kind,
		ProviderId: l.ProviderId, AccountCommitment: l.AccountCommitment,
		Height: x.height, Time: x.time.Unix(), Reference: ref, Seq: seq,
	})
	return nil
}

func (x *exec) addLinked(c *cache, program, provider string, n int64) error {
	pt, err := getProgramTotals(c, program)
	if err != nil {
		return err
	}
	pt.Linked += n
	if err := save(c, types.KeyProgramTotals(program), pt, 0); err != nil {
		return err
	}
	vt, err := getProviderTotals(c, program, provider)
	if err != nil {
		return err
	}
	vt.Linked += n
	return save(c, types.KeyProviderTotals(program, provider), vt, 0)
}

func unixText(t int64) string {
	return fmt.Sprint(timeUTC(t).Format("2006-01-02T15:04:05Z"))
}
