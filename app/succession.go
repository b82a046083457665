package app

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mykeyledger/mykey/app/types"
)

// succession maps a renewed or reissued certificate to the MyKey ID of the
// one it replaces. If both certificates were already used under different
// IDs (the 2022 failure), the IDs are merged: the older ID wins, the later
// linkage in each program is voided, and anything paid above the person's
// cap is recorded as an over-grant to recover from that provider.
func (x *exec) succession(c *cache, s *types.Succession) (string, error) {
	if !validText(s.Reason, types.MaxTextLen) {
		return "", types.ErrMalformed.Wrapf("succession reason must be printable")
	}
	oldRef, oldIdx, err := x.normalizeCertRef(s.OldCert)
	if err != nil {
		return "", err
	}
	_, newIdx, err := x.normalizeCertRef(s.NewCert)
	if err != nil {
		return "", err
	}
	if bytes.Equal(oldIdx, newIdx) {
		return "", types.ErrInvalidAction.Wrapf("a certificate cannot succeed itself")
	}
	var oldRec, newRec types.CertRecord
	if _, err := load(c, types.KeyCert(oldIdx), &oldRec); err != nil {
		return "", err
	}
	if _, err := load(c, types.KeyCert(newIdx), &newRec); err != nil {
		return "", err
	}
	oldID, err := survivingID(c, oldRec.MykeyId)
	if err != nil {
		return "", err
	}
	newID, err := survivingID(c, newRec.MykeyId)
	if err != nil {
		return "", err
	}
	switch {
	case oldID == "" && newID == "":
		mk, err := issueMyKey(c, x.app.pk, oldRef, oldIdx, x.height)
		if err != nil {
			return "", err
		}
		if err := x.addCert(c, mk, newIdx); err != nil {
			return "", err
		}
		oldRec.MykeyId, newRec.MykeyId = mk.Id, mk.Id
	case newID == "":
		mk, err := getMyKey(c, oldID)
		if err != nil {
			return "", err
		}
		if err := x.addCert(c, mk, newIdx); err != nil {
			return "", err
		}
		newRec.MykeyId = oldID
	case oldID == "":
		mk, err := getMyKey(c, newID)
		if err != nil {
			return "", err
		}
		if err := x.addCert(c, mk, oldIdx); err != nil {
			return "", err
		}
		oldRec.MykeyId = newID
	case oldID == newID:
		return "", types.ErrInvalidAction.Wrapf("both certificates already belong to MyKey ID %s", oldID)
	default:
		// merge maps every certificate of the losing ID to the winner;
		// oldRec, read before it, must not be written back over that.
		winner, err := x.merge(c, oldID, newID, s.Reason)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("merged MyKey IDs %s and %s into %s: %s", oldID, newID, winner, s.Reason), nil
	}
	if err := save(c, types.KeyCert(oldIdx), &oldRec, 0); err != nil {
		return "", err
	}
	if err := save(c, types.KeyCert(newIdx), &newRec, 0); err != nil {
		return "", err
	}
	return fmt.Sprintf("certificate %s succeeds %s as MyKey ID %s: %s", certText(newIdx), certText(oldIdx), oldRec.MykeyId, s.Reason), nil
}

func survivingID(c *cache, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	mk, err := getMyKey(c, id)
	if err != nil {
		return "", err
	}
	return mk.Id, nil
}

func (x *exec) addCert(c *cache, mk *types.MyKeyRecord, idx []byte) error {
	mk.Certs = append(mk.Certs, idx)
	return save(c, types.KeyMyKey(mk.Id), mk, 0)
}

// merge joins two MyKey IDs of one person; the older (first issued) wins.
func (x *exec) merge(c *cache, a, b, reason string) (string, error) {
	ma, err := getMyKey(c, a)
	if err != nil {
		return "", err
	}
	mb, err := getMyKey(c, b)
	if err != nil {
		return "", err
	}
	winner, loser := ma, mb
	if mb.IssuedHeight < ma.IssuedHeight || (mb.IssuedHeight == ma.IssuedHeight && mb.IssuedSeq < ma.IssuedSeq) {
		winner, loser = mb, ma
	}
	// Every certificate of the loser now names the winner.
	for _, idx := range loser.Certs {
		var cr types.CertRecord
		if _, err := load(c, types.KeyCert(idx), &cr); err != nil {
			return "", err
		}
		cr.MykeyId = winner.Id
		if err := save(c, types.KeyCert(idx), &cr, 0); err != nil {
			return "", err
		}
		winner.Certs = append(winner.Certs, idx)
	}
	for _, program := range loser.Programs {
		if err := x.mergeProgram(c, program, winner, loser, reason); err != nil {
			return "", err
		}
		if !slices.Contains(winner.Programs, program) {
			winner.Programs = append(winner.Programs, program)
		}
	}
	loser.MergedInto = winner.Id
	if err := save(c, types.KeyMyKey(loser.Id), loser, 0); err != nil {
		return "", err
	}
	return winner.Id, save(c, types.KeyMyKey(winner.Id), winner, 0)
}

// mergeProgram joins one program's linkage and totals of loser into winner.
func (x *exec) mergeProgram(c *cache, program string, winner, loser *types.MyKeyRecord, reason string) error {
	prog, err := getProgram(c, program)
	if err != nil {
		return err
	}
	rw, err := getLinkRecord(c, program, winner.Id)
	if err != nil {
		return err
	}
	rl, err := getLinkRecord(c, program, loser.Id)
	if err != nil {
		return err
	}
	lw, ll := activeLink(rw), activeLink(rl)
	// recoverFrom is the provider any over-grant is recovered from: the
	// one whose linkage came later, whether the merge voids it now or a
	// correction voided it before. The earlier linkage is the one the
	// person made first; the later one is what paid twice.
	recoverFrom := ""
	if later := laterLink(rw, rl); later != nil {
		recoverFrom = later.ProviderId
	}
	switch {
	case lw != nil && ll != nil:
		later := laterLink(lw, ll)
		if err := x.voidLink(c, later, types.LinkEventVoidedByMerge, reason); err != nil {
			return err
		}
		if later == lw {
			// The loser's earlier linkage survives under the winner's ID.
			if err := x.moveLink(c, ll, winner.Id, reason); err != nil {
				return err
			}
		}
	case ll != nil:
		if err := x.moveLink(c, ll, winner.Id, reason); err != nil {
			return err
		}
	}
	pl, err := getPerson(c, program, loser.Id)
	if err != nil {
		return err
	}
	pw, err := getPerson(c, program, winner.Id)
	if err != nil {
		return err
	}
	pw.GrantedYen += pl.GrantedYen
	pw.RecoveredYen += pl.RecoveredYen
	pw.Attested = pw.Attested || pl.Attested
	c.Delete(types.KeyPerson(program, loser.Id))
	over := pw.GrantedYen - pw.RecoveredYen - prog.CapYen
	if over > 0 {
		if recoverFrom == "" {
			// Grants need a linkage, so a person paid has a linkage record.
			return types.ErrInvalidAction.Wrapf("over-grant of %d yen for %s in %q has no linkage to recover it from", over, winner.Id, program)
		}
		seq, err := nextSeq(c, types.KeyEventSeq())
		if err != nil {
			return err
		}
		og := &types.OverGrant{ProgramId: program, ProviderId: recoverFrom, MykeyId: winner.Id, AmountYen: over, Height: x.height, Reference: reason}
		if err := save(c, types.KeyOverGrant(program, recoverFrom, seq), og, 0); err != nil {
			return err
		}
		pw.RecoveredYen += over
		vt, err := getProviderTotals(c, program, recoverFrom)
		if err != nil {
			return err
		}
		vt.RecoveredYen += over
		if err := save(c, types.KeyProviderTotals(program, recoverFrom), vt, 0); err != nil {
			return err
		}
	}
	return save(c, types.KeyPerson(program, winner.Id), pw, 0)
}

// laterLink returns the linkage made later (by height; the second on a
// tie), or the one present, or nil.
func laterLink(a, b *types.Linkage) *types.Linkage {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.Height > b.Height:
		return a
	}
	return b
}

// moveLink re-keys an active linkage to another MyKey ID of the same
// person, keeping its provider and account. Its history moves with it,
// ending in a merged_away event under the old ID; the record under the old
// ID is deleted.
func (x *exec) moveLink(c *cache, l *types.Linkage, to, reason string) error {
	c.Delete(types.KeyLink(l.ProgramId, l.MykeyId))
	if err := x.addLinkEvent(c, l, types.LinkEventMergedAway, reason); err != nil {
		return err
	}
	moved := *l
	moved.MykeyId = to
	return x.putLink(c, &moved, types.LinkEventMergedIn, reason)
}
