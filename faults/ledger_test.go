package faults

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

// ledger is the decoded part of a dump the checks read.
type ledger struct {
	links    map[string]*types.Linkage      // MyKey ID → linkage (active or voided)
	accounts map[string]string              // account key → MyKey ID
	persons  map[string]*types.PersonTotals // MyKey ID → totals
	charges  map[string]*types.GrantRecord  // "<provider>/<ref>" → granted record
	rejected map[string]*types.GrantRecord  // "<provider>/<ref>" → record of a rejected charge (code ≠ 0, ¥0)
	certs    map[string]*types.CertRecord   // fingerprint → record
	totals   *types.ProgramTotals
}

func decodeLedger(tb testing.TB, d dump) *ledger {
	tb.Helper()
	l := &ledger{links: map[string]*types.Linkage{}, accounts: map[string]string{}, persons: map[string]*types.PersonTotals{},
		charges: map[string]*types.GrantRecord{}, rejected: map[string]*types.GrantRecord{}, certs: map[string]*types.CertRecord{}, totals: &types.ProgramTotals{}}
	must := func(k string, err error) {
		if err != nil {
			tb.Fatalf("faults: record %s: %v", k, err)
		}
	}
	for k, v := range d {
		switch {
		case strings.HasPrefix(k, types.PrefixLink+program+"/"):
			var x types.Linkage
			must(k, x.Unmarshal(v))
			l.links[x.MykeyId] = &x
		case strings.HasPrefix(k, types.PrefixAccount+program+"/"):
			l.accounts[k] = string(v)
		case strings.HasPrefix(k, types.PrefixPerson+program+"/"):
			var x types.PersonTotals
			must(k, x.Unmarshal(v))
			l.persons[strings.TrimPrefix(k, types.PrefixPerson+program+"/")] = &x
		case strings.HasPrefix(k, types.PrefixCharge+program+"/"):
			var x types.GrantRecord
			must(k, x.Unmarshal(v))
			if x.Code != 0 {
				l.rejected[x.ProviderId+"/"+x.ChargeRef] = &x
				break
			}
			l.charges[x.ProviderId+"/"+x.ChargeRef] = &x
		case strings.HasPrefix(k, types.PrefixCert):
			var x types.CertRecord
			must(k, x.Unmarshal(v))
			l.certs[strings.TrimPrefix(k, types.PrefixCert)] = &x
		case k == string(types.KeyProgramTotals(program)):
			must(k, l.totals.Unmarshal(v))
		}
	}
	return l
}

func accountKey(provider string, commitment []byte) string {
	return string(types.KeyAccount(program, provider, commitment))
}

// checkLedger holds the ledger against the rules and against what the
// clients saw.
func (s *suite) checkLedger(tb testing.TB, d dump) {
	tb.Helper()
	l := decodeLedger(tb, d)

	// One linkage per provider account, and one account per linkage.
	active := 0
	for m, lk := range l.links {
		if lk.Status != types.LinkStatus_LINK_STATUS_ACTIVE {
			continue
		}
		active++
		if got := l.accounts[accountKey(lk.ProviderId, lk.AccountCommitment)]; got != m {
			tb.Errorf("linkage of %s to %s: its account record names %q", m, lk.ProviderId, got)
		}
	}
	for k, m := range l.accounts {
		lk := l.links[m]
		if lk == nil || lk.Status != types.LinkStatus_LINK_STATUS_ACTIVE || accountKey(lk.ProviderId, lk.AccountCommitment) != k {
			tb.Errorf("%s names %s, which has no active linkage to that account", k, m)
		}
	}
	if active != len(l.accounts) {
		tb.Errorf("%d active linkages but %d linked accounts", active, len(l.accounts))
	}

	// Nobody over the cap; every person's total is the sum of their grants.
	sums := map[string]int64{}
	var all int64
	for _, g := range l.charges {
		sums[g.MykeyId] += g.GrantedYen
		all += g.GrantedYen
	}
	for m, p := range l.persons {
		if p.GrantedYen > capYen {
			tb.Errorf("MyKey ID %s has been granted ¥%d, over the ¥%d cap", m, p.GrantedYen, capYen)
			s.rep.add(func(r *report) { r.overCap++ })
		}
		if p.GrantedYen != sums[m] {
			tb.Errorf("MyKey ID %s: person total ¥%d, its grant records add up to ¥%d", m, p.GrantedYen, sums[m])
		}
	}
	for m, sum := range sums {
		if l.persons[m] == nil && sum > 0 {
			tb.Errorf("MyKey ID %s has grants of ¥%d but no person record", m, sum)
		}
	}
	if l.totals.GrantedYen != all || l.totals.Grants != int64(len(l.charges)) {
		tb.Errorf("program totals ¥%d in %d grants; the grant records hold ¥%d in %d", l.totals.GrantedYen, l.totals.Grants, all, len(l.charges))
	}

	s.checkClaims(tb, l)
	s.checkCharges(tb, l)
}

// checkClaims: at most one claim of each group accepted, and the ledger
// holds exactly the accepted one.
func (s *suite) checkClaims(tb testing.TB, l *ledger) {
	tb.Helper()
	s.book.mu.Lock()
	groups := append([]*claimGroup(nil), s.book.groups...)
	s.book.mu.Unlock()
	for _, g := range groups {
		var accepted []*claim
		unknown := false
		for _, cl := range g.claims {
			if cl.accepted {
				accepted = append(accepted, cl)
			}
			unknown = unknown || cl.unknown
		}
		if len(accepted) > 1 {
			tb.Errorf("%s (%s): %d claims accepted: %s", g.key, g.phase, len(accepted), describeClaims(accepted))
		}
		held, linked := l.heldClaim(g)
		switch {
		case linked && held == nil:
			tb.Errorf("%s (%s): the ledger holds a linkage that none of its claims asked for", g.key, g.phase)
		case len(accepted) > 0 && held != accepted[0]:
			tb.Errorf("%s (%s): the client saw %s accepted, the ledger holds %s", g.key, g.phase,
				describeClaims(accepted[:1]), describeClaims([]*claim{held}))
		case len(accepted) == 0 && !unknown && linked:
			tb.Errorf("%s (%s): every claim was refused, yet the ledger holds %s", g.key, g.phase, describeClaims([]*claim{held}))
		}
	}
}

// heldClaim is the claim of g the ledger holds (nil if it holds none of
// them); linked says whether the ledger holds any linkage for the group's
// card or account at all.
func (l *ledger) heldClaim(g *claimGroup) (held *claim, linked bool) {
	mykeyOf := func(cl *claim) string {
		if cr := l.certs[cl.fp]; cr != nil {
			return cr.MykeyId
		}
		return ""
	}
	switch g.kind {
	case "card":
		m := mykeyOf(g.claims[0])
		lk := l.links[m]
		if m == "" || lk == nil || lk.Status != types.LinkStatus_LINK_STATUS_ACTIVE {
			return nil, false
		}
		for _, cl := range g.claims {
			if lk.ProviderId == cl.provider && bytes.Equal(lk.AccountCommitment, cl.commitment) {
				return cl, true
			}
		}
		return nil, true
	default: // "account": several cards, one account
		first := g.claims[0]
		m, ok := l.accounts[accountKey(first.provider, first.commitment)]
		if !ok {
			return nil, false
		}
		for _, cl := range g.claims {
			if mykeyOf(cl) == m {
				return cl, true
			}
		}
		return nil, true
	}
}

func describeClaims(cls []*claim) string {
	var parts []string
	for _, cl := range cls {
		if cl == nil {
			parts = append(parts, "no linkage of its claims")
			continue
		}
		how := "rpc"
		if cl.tx != nil {
			how = fmt.Sprintf("rpc node %d, tx %.12s", cl.tx.node, cl.tx.hash)
		} else if cl.cli != nil {
			how = "mykey link (" + cl.cli.name + ")"
		}
		parts = append(parts, fmt.Sprintf("%s via %s", cl.provider, how))
	}
	return strings.Join(parts, "; ")
}

// checkCharges: every charge a client saw granted is in the ledger with
// the amount the client saw, no reference is granted by two transactions,
// and the ledger holds no grant that every client saw refused.
func (s *suite) checkCharges(tb testing.TB, l *ledger) {
	tb.Helper()
	type seen struct {
		grantedBy map[string]*chargeSent // tx hash → accepted charge
		unknown   bool
		sent      int
	}
	byKey := map[string]*seen{}
	s.book.mu.Lock()
	for _, ch := range s.book.charges {
		k := ch.provider + "/" + ch.ref
		sn := byKey[k]
		if sn == nil {
			sn = &seen{grantedBy: map[string]*chargeSent{}}
			byKey[k] = sn
		}
		sn.sent++
		sn.unknown = sn.unknown || ch.unknown
		if ch.accepted {
			sn.grantedBy[ch.txHash] = ch
		}
	}
	s.book.mu.Unlock()
	lost, double := 0, 0
	for k, sn := range byKey {
		rec := l.charges[k]
		if len(sn.grantedBy) > 1 {
			double += len(sn.grantedBy) - 1
			tb.Errorf("charge %s granted by %d different transactions", k, len(sn.grantedBy))
		}
		for _, ch := range sn.grantedBy {
			if rec == nil || rec.GrantedYen != ch.granted || rec.MykeyId != ch.mykey {
				lost++
				tb.Errorf("charge %s: a client saw ¥%d granted to %s (tx %.12s, %s); the ledger holds %v", k, ch.granted, ch.mykey, ch.txHash, ch.phase, rec)
			}
			break
		}
		if len(sn.grantedBy) == 0 && rec != nil && !sn.unknown {
			tb.Errorf("charge %s: every client saw it refused, yet the ledger holds ¥%d for it", k, rec.GrantedYen)
		}
	}
	for k := range l.charges {
		if byKey[k] == nil {
			tb.Errorf("the ledger holds a grant nobody sent: %s", k)
		}
	}
	for k, rec := range l.rejected {
		if byKey[k] == nil {
			tb.Errorf("the ledger holds a rejected charge nobody sent: %s", k)
		}
		if rec.GrantedYen != 0 {
			tb.Errorf("charge %s: rejected with code %d, yet its record holds ¥%d", k, rec.Code, rec.GrantedYen)
		}
	}
	s.rep.add(func(r *report) { r.grantsLost, r.doubleGrants = lost, double })
}

// refreshPersons learns who is linked from node 0's ledger and returns
// those linked for the first time.
func (s *suite) refreshPersons(tb testing.TB, phase string) []*person {
	tb.Helper()
	l := decodeLedger(tb, s.c.dump(tb, 0))
	s.mu.Lock()
	defer s.mu.Unlock()
	var fresh []*person
	for m, lk := range l.links {
		if lk.Status != types.LinkStatus_LINK_STATUS_ACTIVE || s.persons[m] != nil {
			continue
		}
		p := &person{mykey: m, provider: lk.ProviderId, phase: phase}
		s.persons[m] = p
		fresh = append(fresh, p)
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].mykey < fresh[j].mykey })
	return fresh
}
