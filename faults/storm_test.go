package faults

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/testca"
)

// A storm is a bounded burst of conflicting transactions sent while a
// fault is on, spread over a few seconds and over every node (the faulty
// one included: what it takes in must not count twice once it is back).

// Sizes of one storm.
const (
	cardGroups    = 12 // cards each linked to all three providers through three nodes
	accountGroups = 3  // pairs of cards claiming one provider account
	grantPersons  = 24 // people granted to per storm, at most
)

// Charges the storms make: 25 % of them is the bonus.
const (
	raceAmount = 4000  // ¥1,000 bonus; sent twice, racing, under one reference
	bigAmount  = 30000 // ¥7,500 earned: over the ¥5,000 cap
	cliAmount  = 2000  // ¥500 bonus, through `mykey grant`
)

// person is someone the ledger has linked, as the storms know them.
type person struct {
	mykey    string
	provider string
	phase    string // the phase they were linked in
}

// newToken returns a fresh plain account string: distinctive, so that the
// leak scan can look for it everywhere.
func (s *suite) newToken() string {
	return fmt.Sprintf("%s%05d", s.tokenTag, s.tokenSeq.Add(1))
}

// job is one part of a storm, started at an offset.
type job struct {
	at time.Duration
	fn func()
}

// launch starts the jobs at their offsets and returns a function that
// waits for all of them.
func launch(jobs []job) (wait func()) {
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].at < jobs[j].at })
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, j := range jobs {
			time.Sleep(time.Until(start.Add(j.at)))
			wg.Add(1)
			go func() { defer wg.Done(); j.fn() }()
		}
	}()
	return wg.Wait
}

// together runs fns at the same moment and waits for them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// storm sends a storm over spread and returns a function that waits for
// its clients (the `mykey` commands wait for their blocks, so wait after
// the fault has healed).
func (s *suite) storm(tb testing.TB, phase string, spread time.Duration) (wait func()) {
	tb.Helper()
	c := s.c
	var jobs []job
	at := func() time.Duration { return time.Duration(rand.Int64N(int64(spread) + 1)) }

	// The same card to all three providers, through three different
	// nodes at the same moment.
	for range cardGroups {
		card := c.issue(tb)
		g := &claimGroup{key: "card:" + fingerprint(tb, card), kind: "card", phase: phase}
		nodes := rand.Perm(validators)
		var sends []func()
		for j, p := range providers {
			cl := s.newClaim(g, card, p)
			tx := &sentTx{phase: phase, kind: "link", node: nodes[j], bz: c.linkTx(tb, card, p, cl.token), claim: cl}
			cl.tx = tx
			sends = append(sends, func() { s.send(tx) })
		}
		s.book.addGroup(g)
		jobs = append(jobs, job{at(), func() { together(sends...) }})
	}

	// Two people claiming one provider account.
	for range accountGroups {
		p := providers[rand.IntN(len(providers))]
		token := s.newToken()
		g := &claimGroup{key: "account:" + p + "/" + token, kind: "account", phase: phase}
		nodes := rand.Perm(validators)
		var sends []func()
		for j := range 2 {
			card := c.issue(tb)
			cl := s.newClaim(g, card, p)
			cl.token, cl.commitment = token, txbuild.Commitment(token)
			tx := &sentTx{phase: phase, kind: "link", node: nodes[j], bz: c.linkTx(tb, card, p, token), claim: cl}
			cl.tx = tx
			sends = append(sends, func() { s.send(tx) })
		}
		s.book.addGroup(g)
		jobs = append(jobs, job{at(), func() { together(sends...) }})
	}

	// One card at two kiosks: `mykey link` to two providers through two
	// nodes at once.
	{
		card := c.issue(tb)
		g := &claimGroup{key: "card:" + fingerprint(tb, card), kind: "card", phase: phase}
		nodes := rand.Perm(validators)
		ps := rand.Perm(len(providers))
		var runs []func()
		for j := range 2 {
			cl := s.newClaim(g, card, providers[ps[j]])
			cl.via = "cli"
			name := fmt.Sprintf("%s-link-%d", phase, j)
			runs = append(runs, func() { s.cliLink(cl, nodes[j], name) })
		}
		s.book.addGroup(g)
		jobs = append(jobs, job{at(), func() { together(runs...) }})
	}

	// Grants to people linked before: a reference sent twice at once
	// through two nodes, a charge over the cap sent as the same bytes to
	// two nodes, and an earlier reference again.
	people := s.personList()
	rand.Shuffle(len(people), func(i, j int) { people[i], people[j] = people[j], people[i] })
	people = people[:min(len(people), grantPersons)]
	for _, p := range people {
		nodes := rand.Perm(validators)
		sends := s.raceGrant(tb, phase, p, nodes[0], nodes[1])
		ref := fmt.Sprintf("%s-%s-big", phase, p.mykey)
		bz := c.grantTx(tb, p.provider, charge(p.mykey, ref, bigAmount))
		for _, n := range nodes[2:4] {
			ch := &chargeSent{phase: phase, provider: p.provider, mykey: p.mykey, ref: ref, amount: bigAmount, kind: "big"}
			tx := &sentTx{phase: phase, kind: "grant", node: n, bz: bz, charges: []*chargeSent{ch}}
			ch.tx = tx
			sends = append(sends, func() { s.send(tx) })
		}
		if old := s.acceptedRef(p.mykey); old != "" {
			ch := &chargeSent{phase: phase, provider: p.provider, mykey: p.mykey, ref: old, amount: raceAmount + 8, kind: "replay"}
			tx := &sentTx{phase: phase, kind: "grant", node: nodes[rand.IntN(validators)],
				bz: c.grantTx(tb, p.provider, charge(p.mykey, old, ch.amount)), charges: []*chargeSent{ch}}
			ch.tx = tx
			sends = append(sends, func() { s.send(tx) })
		}
		jobs = append(jobs, job{at(), func() { together(sends...) }})
	}

	// `mykey grant` of one reference, twice at once through two nodes,
	// for someone with some of the cap left.
	if p := s.mostCapLeft(people); p != nil {
		nodes := rand.Perm(validators)
		ref := fmt.Sprintf("%s-%s-cli", phase, p.mykey)
		var runs []func()
		for j := range 2 {
			ch := &chargeSent{phase: phase, provider: p.provider, mykey: p.mykey, ref: ref, amount: cliAmount + int64(j), kind: "cli"}
			name := fmt.Sprintf("%s-grant-%d", phase, j)
			runs = append(runs, func() { s.cliGrant(ch, nodes[j], name) })
		}
		jobs = append(jobs, job{at(), func() { together(runs...) }})
	}
	return launch(jobs)
}

// raceGrant returns sends of one new reference for p in two transactions
// (different amounts, so different bytes) through nodes a and b.
func (s *suite) raceGrant(tb testing.TB, phase string, p *person, a, b int) []func() {
	ref := fmt.Sprintf("%s-%s-race", phase, p.mykey)
	var sends []func()
	for k, n := range []int{a, b} {
		ch := &chargeSent{phase: phase, provider: p.provider, mykey: p.mykey, ref: ref, amount: raceAmount + int64(4*k), kind: "race"}
		tx := &sentTx{phase: phase, kind: "grant", node: n, bz: s.c.grantTx(tb, p.provider, charge(p.mykey, ref, ch.amount)), charges: []*chargeSent{ch}}
		ch.tx = tx
		sends = append(sends, func() { s.send(tx) })
	}
	return sends
}

// firstGrants sends the first grant (a racing pair) to each person linked
// in this phase, once the network is whole again.
func (s *suite) firstGrants(tb testing.TB, phase string, people []*person) (wait func()) {
	var jobs []job
	for _, p := range people {
		nodes := rand.Perm(validators)
		sends := s.raceGrant(tb, phase+"-first", p, nodes[0], nodes[1])
		jobs = append(jobs, job{time.Duration(rand.Int64N(int64(2 * time.Second))), func() { together(sends...) }})
	}
	return launch(jobs)
}

// newClaim adds to g a claim of card for provider, with a fresh account.
func (s *suite) newClaim(g *claimGroup, card *testca.Card, provider string) *claim {
	token := s.newToken()
	cl := &claim{group: g, card: card, fp: s.c.certIndex(card), provider: provider, token: token,
		commitment: txbuild.Commitment(token), via: "rpc"}
	g.claims = append(g.claims, cl)
	return cl
}

// personList is everyone linked so far, in MyKey ID order.
func (s *suite) personList() []*person {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*person, 0, len(s.persons))
	for _, p := range s.persons {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].mykey < out[j].mykey })
	return out
}

// mostCapLeft is the one of people with the least granted so far.
func (s *suite) mostCapLeft(people []*person) *person {
	granted := map[string]int64{}
	seen := map[string]bool{}
	s.book.mu.Lock()
	for _, ch := range s.book.charges {
		if k := ch.txHash + "/" + ch.ref; ch.accepted && !seen[k] {
			seen[k] = true
			granted[ch.mykey] += ch.granted
		}
	}
	s.book.mu.Unlock()
	var best *person
	for _, p := range people {
		if best == nil || granted[p.mykey] < granted[best.mykey] {
			best = p
		}
	}
	return best
}

// acceptedRef is a charge reference already granted to mykey, or "".
func (s *suite) acceptedRef(mykey string) string {
	s.book.mu.Lock()
	defer s.book.mu.Unlock()
	for _, ch := range s.book.charges {
		if ch.mykey == mykey && ch.accepted && !strings.HasSuffix(ch.ref, "-cli") {
			return ch.ref
		}
	}
	return ""
}
