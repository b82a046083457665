package app

import (
	"crypto/ed25519"
	"strconv"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

func timeUTC(t int64) time.Time { return time.Unix(t, 0).UTC() }

// japan is Japan Standard Time, UTC+9 all year: a fixed offset rather than
// a time-zone database, so that every node computes the same day.
var japan = time.FixedZone("JST", 9*60*60)

// GrantDay is the day, in Japan, of a grant recorded at Unix time t: the
// last part of its daily/ key.
func GrantDay(t int64) string { return time.Unix(t, 0).In(japan).Format(time.DateOnly) }

// grant judges a provider's grant: the signature once, then each charge on
// its own (a suspended provider's charges are each rejected, and recorded).
func (x *exec) grant(s *types.SignedGrant) ([]item, error) {
	g := s.Grant
	prov, err := getProvider(x.c, g.ProviderId)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(prov.GrantKey, g.SignBytes(), s.Signature) {
		return nil, types.ErrBadSignature.Wrapf("provider %q signature on grant", g.ProviderId)
	}
	items := make([]item, 0, len(g.Charges))
	for _, ch := range g.Charges {
		it, err := x.charge(prov.Id, ch)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// charge judges one charge of a verified grant. A charge reference takes
// effect once: a charge judged in a block is recorded under its reference
// whatever its outcome, a rejected one with nothing granted and its code,
// so a resubmission is a duplicate and a rejected charge cannot be
// replayed once the state would pay it (after a budget rise, say).
func (x *exec) charge(provider string, ch *types.Charge) (item, error) {
	var (
		granted int64
		mykey   string
	)
	ckey := types.KeyCharge(ch.ProgramId, provider, ch.ChargeRef)
	dup, err := x.c.Get(ckey)
	if err != nil {
		return item{}, err
	}
	var rej error
	if dup != nil {
		rej = types.ErrDuplicateCharge.Wrapf("%q already recorded by provider %q in program %q", ch.ChargeRef, provider, ch.ProgramId)
	} else {
		var fatal error
		rej, fatal = x.attempt(func(c *cache) error {
			var err error
			mykey, granted, err = x.applyCharge(c, provider, ch, ckey)
			return err
		})
		if fatal != nil {
			return item{}, fatal
		}
		if rej != nil {
			code, _ := types.ABCIInfo(rej)
			rec := &types.GrantRecord{
				ProgramId: ch.ProgramId, ProviderId: provider, ChargeRef: ch.ChargeRef, MykeyId: ch.MykeyId,
				AmountYen: ch.AmountYen, ChargedAt: ch.ChargedAt, Height: x.height, Time: x.time.Unix(), Code: code,
			}
			if err := save(x.c, ckey, rec, 0); err != nil {
				return item{}, err
			}
		}
	}
	if mykey == "" {
		mykey = ch.MykeyId
	}
	attrs := []string{
		types.AttrProgram, ch.ProgramId, types.AttrProvider, provider, types.AttrMyKeyID, mykey,
		types.AttrChargeRef, ch.ChargeRef, types.AttrAmountYen, strconv.FormatInt(ch.AmountYen, 10),
		types.AttrGrantedYen, strconv.FormatInt(granted, 10),
	}
	return item{err: rej, event: event(types.EventGrant, append(attrs, outcome(rej)...)...)}, nil
}

// applyCharge grants what one charge earns:
// percent_of_charge: min(floor(charge × rate / 10000), cap − granted so far, budget left);
// fixed: min(fixed amount − granted so far, budget left), once attested.
// Zero is a rejection with its reason. It returns the person's surviving
// MyKey ID and the yen granted.
func (x *exec) applyCharge(c *cache, provider string, ch *types.Charge, ckey []byte) (string, int64, error) {
	prov, err := getProvider(c, provider)
	if err != nil {
		return "", 0, err
	}
	if prov.Status == types.ProviderStatus_PROVIDER_STATUS_SUSPENDED {
		return "", 0, types.ErrProviderSuspended.Wrapf("%q", provider)
	}
	prog, err := getProgram(c, ch.ProgramId)
	if err != nil {
		return "", 0, err
	}
	now := x.time.Unix()
	if now < prog.GrantStart || now >= prog.GrantEnd {
		return "", 0, types.ErrWindowClosed.Wrapf("program %q records grants from %s to %s", prog.Id, unixText(prog.GrantStart), unixText(prog.GrantEnd))
	}
	if ch.ChargedAt < prog.GrantStart || ch.ChargedAt >= prog.GrantEnd {
		return "", 0, types.ErrWindowClosed.Wrapf("charge made at %s is outside program %q's grant window", unixText(ch.ChargedAt), prog.Id)
	}
	if ch.ChargedAt > now+types.MaxChargeSkew {
		return "", 0, types.ErrMalformed.Wrapf("charge time %s is after block time %s", unixText(ch.ChargedAt), unixText(now))
	}
	mk, err := getMyKey(c, ch.MykeyId)
	if err != nil {
		return "", 0, err
	}
	l, err := getLink(c, prog.Id, mk.Id)
	if err != nil {
		return mk.Id, 0, err
	}
	if l == nil || l.ProviderId != provider {
		return mk.Id, 0, types.ErrNotLinked.Wrapf("MyKey ID %s is not linked to provider %q in program %q", mk.Id, provider, prog.Id)
	}
	person, err := getPerson(c, prog.Id, mk.Id)
	if err != nil {
		return mk.Id, 0, err
	}
	totals, err := getProgramTotals(c, prog.Id)
	if err != nil {
		return mk.Id, 0, err
	}
	// The cap applies to what the person keeps: granted less what was
	// recovered after a merge.
	net := person.GrantedYen - person.RecoveredYen
	capLeft := prog.CapYen - net
	budgetLeft := prog.BudgetYen - totals.GrantedYen
	var granted int64
	switch prog.Kind {
	case types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE:
		earned := ch.AmountYen * prog.RateBp / 10000
		switch {
		case capLeft <= 0:
			return mk.Id, 0, types.ErrCapReached.Wrapf("MyKey ID %s has been granted %d of %d yen in program %q", mk.Id, net, prog.CapYen, prog.Id)
		case budgetLeft <= 0:
			return mk.Id, 0, types.ErrBudgetExhausted.Wrapf("program %q has granted its budget of %d yen", prog.Id, prog.BudgetYen)
		case earned <= 0:
			return mk.Id, 0, types.ErrZeroGrant.Wrapf("a charge of %d yen earns nothing at %d basis points", ch.AmountYen, prog.RateBp)
		}
		granted = min(earned, capLeft, budgetLeft)
	case types.ProgramKind_PROGRAM_KIND_FIXED:
		// One amount per person, once, and never in part.
		switch {
		case !person.Attested:
			return mk.Id, 0, types.ErrNotEligible.Wrapf("MyKey ID %s in program %q", mk.Id, prog.Id)
		case net > 0:
			return mk.Id, 0, types.ErrCapReached.Wrapf("MyKey ID %s has been paid the %d yen of program %q", mk.Id, prog.FixedYen, prog.Id)
		case budgetLeft < prog.FixedYen:
			return mk.Id, 0, types.ErrBudgetExhausted.Wrapf("program %q has %d yen of its budget left, less than its %d yen", prog.Id, budgetLeft, prog.FixedYen)
		}
		granted = prog.FixedYen
	default:
		return mk.Id, 0, types.ErrUnknownProgram.Wrapf("program %q has no known kind", prog.Id)
	}

	rec := &types.GrantRecord{
		ProgramId: prog.Id, ProviderId: provider, ChargeRef: ch.ChargeRef, MykeyId: mk.Id,
		AmountYen: ch.AmountYen, GrantedYen: granted, ChargedAt: ch.ChargedAt,
		Height: x.height, Time: now,
	}
	if err := save(c, ckey, rec, uint64(granted)); err != nil {
		return mk.Id, 0, err
	}
	person.GrantedYen += granted
	if err := save(c, types.KeyPerson(prog.Id, mk.Id), person, 0); err != nil {
		return mk.Id, 0, err
	}
	totals.GrantedYen += granted
	totals.Grants++
	if err := save(c, types.KeyProgramTotals(prog.Id), totals, 0); err != nil {
		return mk.Id, 0, err
	}
	vt, err := getProviderTotals(c, prog.Id, provider)
	if err != nil {
		return mk.Id, 0, err
	}
	vt.GrantedYen += granted
	vt.Grants++
	if err := save(c, types.KeyProviderTotals(prog.Id, provider), vt, 0); err != nil {
		return mk.Id, 0, err
	}
	// The public grant ledger: the day's aggregate, with no weight (the
	// yen weigh once, on the charge record).
	dkey := types.KeyDaily(prog.Id, provider, GrantDay(now))
	var day types.DailyTotals
	if _, err := load(c, dkey, &day); err != nil {
		return mk.Id, 0, err
	}
	day.GrantedYen += granted
	day.Grants++
	return mk.Id, granted, save(c, dkey, &day, 0)
}
