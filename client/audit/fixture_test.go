package audit_test

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
)

// pair names a provider in a program.
type pair struct{ program, provider string }

// fixture is the shared network and what the test made happen on it; the
// expected figures come from the ledger's own events (grant results), not
// from the state the auditor reads.
type fixture struct {
	net         *testNet
	readyHeight int64
	granted     map[pair]int64 // yen granted, from grant events
	grants      map[pair]int64 // grants accepted
	settled     map[pair]int64
	recovered   map[pair]int64
	linked      map[pair]int64
	totalYen    int64
	totalGrants int64
	spring      map[string][]string // provider → MyKey IDs linked in "spring"
	winner      string              // the older ID of the merged pair
	loser       string
	moved       string // the ID whose linkage was moved to rakutenpay
	voided      string // the ID whose linkage was voided
	// rejected is a charge the ledger rejected and recorded (one yen,
	// which earns nothing, by paypay to f.spring["paypay"][0]): never a
	// grant.
	rejected    string // its charge reference
	rejectedKey string // its record's key
}

const (
	springRate = 2000  // 20 %
	springCap  = 20000 // yen per person
)

func buildFixture(dir string) (f *fixture, err error) {
	n, err := startNet(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	f = &fixture{net: n, granted: map[pair]int64{}, grants: map[pair]int64{}, settled: map[pair]int64{},
		recovered: map[pair]int64{}, linked: map[pair]int64{}, spring: map[string][]string{}}
	for _, p := range [][2]string{{"paypay", "PayPay"}, {"linepay", "LINE Pay"}, {"rakutenpay", "Rakuten Pay"}, {"aupay", "au PAY"}} {
		if err := n.registerProvider(p[0], p[1]); err != nil {
			return nil, fmt.Errorf("register %s: %w", p[0], err)
		}
	}
	now, err := n.blockTime()
	if err != nil {
		return nil, err
	}
	now = now.Truncate(time.Second)
	start, end := now.AddDate(0, 0, -40).Unix(), now.AddDate(1, 0, 0).Unix()
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: &types.Program{
		Id: "spring", Name: "Spring bonus", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: springRate, CapYen: springCap,
		LinkStart: start, LinkEnd: end, GrantStart: start, GrantEnd: end, BudgetYen: 1_000_000_000}}}}); err != nil {
		return nil, fmt.Errorf("set program: %w", err)
	}

	// People: three per provider in "spring", and a renewed card (cardA2)
	// of the person holding cardA, linked again under a new ID.
	cards := make([]*testca.Card, 10)
	for i := range cards {
		if cards[i], err = n.card(); err != nil {
			return nil, err
		}
	}
	cardA, cardA2 := cards[9], (*testca.Card)(nil)
	if cardA2, err = n.card(); err != nil {
		return nil, err
	}
	batches := []struct {
		provider string
		cards    []*testca.Card
	}{
		{"paypay", []*testca.Card{cards[0], cards[1], cards[2], cardA}},
		{"linepay", []*testca.Card{cards[3], cards[4], cards[5], cardA2}},
		{"rakutenpay", []*testca.Card{cards[6], cards[7], cards[8]}},
	}
	idOf := map[*testca.Card]string{}
	for _, b := range batches {
		var accounts []string
		for i := range b.cards {
			accounts = append(accounts, fmt.Sprintf("%s-account-%d", b.provider, i))
		}
		ids, err := n.link("spring", b.provider, b.cards, accounts)
		if err != nil {
			return nil, fmt.Errorf("link %s: %w", b.provider, err)
		}
		for i, id := range ids {
			idOf[b.cards[i]] = id
		}
		f.spring[b.provider] = ids
		f.linked[pair{"spring", b.provider}] += int64(len(ids))
	}
	// Two people in the genesis program too.
	if _, err := n.link("mynapoint", "paypay", []*testca.Card{cards[0]}, []string{"paypay-account-0"}); err != nil {
		return nil, err
	}
	if _, err := n.link("mynapoint", "linepay", []*testca.Card{cards[3]}, []string{"linepay-account-0"}); err != nil {
		return nil, err
	}
	f.linked[pair{"mynapoint", "paypay"}]++
	f.linked[pair{"mynapoint", "linepay"}]++

	// Grants, their charges spread over the last 30 days.
	type grantPlan struct {
		program, provider string
		ids               []string
		charges, amount   int
		ago               func(k int) time.Duration
	}
	spread := func(k int) time.Duration { return time.Duration(k%10)*3*24*time.Hour + time.Duration(k)*time.Minute }
	recent := func(k int) time.Duration { return 30*time.Minute - time.Duration(k)*time.Minute }
	plans := []grantPlan{
		{"spring", "paypay", f.spring["paypay"][:3], 10, 1000, spread},
		{"spring", "linepay", f.spring["linepay"][:3], 10, 1300, spread},
		{"spring", "rakutenpay", f.spring["rakutenpay"], 10, 1700, spread},
		{"spring", "paypay", []string{idOf[cardA]}, 5, 15000, spread},
		{"spring", "linepay", []string{idOf[cardA2]}, 5, 10000, spread},
		{"mynapoint", "paypay", []string{idOf[cards[0]]}, 4, 4000, recent},
		{"mynapoint", "linepay", []string{idOf[cards[3]]}, 3, 2000, recent},
	}
	personYen := map[string]int64{}
	for pi, p := range plans {
		var charges []*types.Charge
		for _, id := range p.ids {
			for k := 0; k < p.charges; k++ {
				charges = append(charges, &types.Charge{ProgramId: p.program, MykeyId: id,
					ChargeRef: fmt.Sprintf("%s-%d-%s-%02d", p.provider, pi, id, k),
					AmountYen: int64(p.amount + 37*k), ChargedAt: now.Add(-p.ago(k)).Unix()})
			}
		}
		tx, err := n.grantTx(p.provider, charges)
		if err != nil {
			return nil, err
		}
		res, err := n.submit(tx)
		if err != nil {
			return nil, fmt.Errorf("grant %s: %w", p.provider, err)
		}
		ys, err := granted(res)
		if err != nil {
			return nil, fmt.Errorf("grant %s: %w", p.provider, err)
		}
		for i, y := range ys {
			k := pair{p.program, p.provider}
			f.granted[k] += y
			f.grants[k]++
			f.totalYen += y
			f.totalGrants++
			if p.program == "spring" {
				personYen[charges[i].MykeyId] += y
			}
		}
	}

	// A charge the ledger rejects (one yen earns nothing) and records
	// with its code and nothing granted.
	f.rejected = "paypay-rejected-" + f.spring["paypay"][0]
	f.rejectedKey = "charge/spring/paypay/" + f.rejected
	{
		// With a charge that is granted: a grant whose every charge is
		// rejected does not pass CheckTx.
		id := f.spring["paypay"][0]
		tx, err := n.grantTx("paypay", []*types.Charge{
			{ProgramId: "spring", MykeyId: id, ChargeRef: f.rejected, AmountYen: 1, ChargedAt: now.Add(-time.Hour).Unix()},
			{ProgramId: "spring", MykeyId: id, ChargeRef: "paypay-with-rejected-" + id, AmountYen: 1000, ChargedAt: now.Add(-time.Hour).Unix()}})
		if err != nil {
			return nil, err
		}
		res, err := n.submit(tx)
		if err != nil {
			return nil, fmt.Errorf("grant with a rejected charge: %w", err)
		}
		var outcomes []string
		for i := range res.Events {
			if res.Events[i].Type != "grant" {
				continue
			}
			outcomes = append(outcomes, attr(res.Events, i, "outcome"))
			if attr(res.Events, i, "outcome") == "accepted" {
				y, _ := strconv.ParseInt(attr(res.Events, i, "granted_yen"), 10, 64)
				k := pair{"spring", "paypay"}
				f.granted[k] += y
				f.grants[k]++
				f.totalYen += y
				f.totalGrants++
			}
		}
		if strings.Join(outcomes, ",") != "rejected,accepted" {
			return nil, fmt.Errorf("grant with a rejected charge: outcomes %v", outcomes)
		}
	}

	// Settlements, corrections, the succession that merges cardA2's ID
	// into cardA's, a revocation and a provider change.
	settle := func(program, provider string, yen int64, ref string) error {
		f.settled[pair{program, provider}] += yen
		return n.govDo(&types.GovAction{Action: &types.GovAction_Settle{Settle: &types.Settle{ProgramId: program, ProviderId: provider, AmountYen: yen, Reference: ref}}})
	}
	if err := settle("spring", "paypay", 1000, "SETTLE-001"); err != nil {
		return nil, err
	}
	if err := settle("mynapoint", "linepay", 500, "SETTLE-002"); err != nil {
		return nil, err
	}
	f.moved, f.voided = f.spring["linepay"][1], f.spring["rakutenpay"][2]
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "spring", MykeyId: f.moved, Kind: types.CorrectionKind_CORRECTION_KIND_MOVE, ToProviderId: "rakutenpay",
		ToAccountCommitment: commitment("rakutenpay-account-moved"), IncidentRef: "KIOSK-17"}}}); err != nil {
		return nil, fmt.Errorf("move: %w", err)
	}
	f.linked[pair{"spring", "linepay"}]--
	f.linked[pair{"spring", "rakutenpay"}]++
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "spring", MykeyId: f.voided, Kind: types.CorrectionKind_CORRECTION_KIND_VOID, IncidentRef: "INC-9"}}}); err != nil {
		return nil, fmt.Errorf("void: %w", err)
	}
	f.linked[pair{"spring", "rakutenpay"}]--
	ref := func(c *testca.Card) *types.CertRef {
		return &types.CertRef{Issuer: c.Cert.RawIssuer, Serial: c.Cert.SerialNumber.Bytes()}
	}
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_Succession{Succession: &types.Succession{
		OldCert: ref(cardA), NewCert: ref(cardA2), Reason: "certificate renewed"}}}); err != nil {
		return nil, fmt.Errorf("succession: %w", err)
	}
	f.winner, f.loser = idOf[cardA], idOf[cardA2]
	f.linked[pair{"spring", "linepay"}]-- // the later linkage is voided
	if over := personYen[f.winner] + personYen[f.loser] - springCap; over > 0 {
		f.recovered[pair{"spring", "linepay"}] = over
	}
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
		Certificates: []*types.CertRef{ref(cards[7])}, Reason: "card reported lost"}}}); err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	if err := n.govDo(&types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
		ProviderId: "aupay", Status: types.ProviderStatus_PROVIDER_STATUS_SUSPENDED}}}); err != nil {
		return nil, fmt.Errorf("suspend: %w", err)
	}
	if f.readyHeight, err = n.Status(0, time.Minute); err != nil {
		return nil, err
	}
	return f, nil
}
