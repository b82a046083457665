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

// applyCharge grants what one charge earns (grantAmount) and records it.
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
	if err := checkChargeTime(prog, ch, now); err != nil {
		return "", 0, err
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
	granted, err := grantAmount(prog, ch, mk.Id, person, totals)
	if err != nil {
		return mk.Id, 0, err
	}
	rec := &types.GrantRecord{
		ProgramId: prog.Id, ProviderId: provider, ChargeRef: ch.ChargeRef, MykeyId: mk.Id,
		AmountYen: ch.AmountYen, GrantedYen: granted, ChargedAt: ch.ChargedAt,
		Height: x.height, Time: now,
	}
	if err := save(c, ckey, rec, uint64(granted)); err != nil {
		return mk.Id, 0, err
	}
	return mk.Id, granted, addGrant(c, prog.Id, provider, mk.Id, granted, now, person, totals)
}

// checkChargeTime: grants are recorded within the program's grant window,
// for charges made within it and not after the block.
func checkChargeTime(prog *types.Program, ch *types.Charge, now int64) error {
	if now < prog.GrantStart || now >= prog.GrantEnd {
		return types.ErrWindowClosed.Wrapf("program %q records grants from %s to %s", prog.Id, unixText(prog.GrantStart), unixText(prog.GrantEnd))
	}
	if ch.ChargedAt < prog.GrantStart || ch.ChargedAt >= prog.GrantEnd {
		return types.ErrWindowClosed.Wrapf("charge made at %s is outside program %q's grant window", unixText(ch.ChargedAt), prog.Id)
	}
	if ch.ChargedAt > now+types.MaxChargeSkew {
		return types.ErrMalformed.Wrapf("charge time %s is after block time %s", unixText(ch.ChargedAt), unixText(now))
	}
	return nil
}

// grantAmount is what a charge earns:
// percent_of_charge: min(floor(charge × rate / 10000), cap − granted so far, budget left);
// fixed: the fixed amount, once and never in part, once attested.
// Nothing earned is a rejection with its reason.
func grantAmount(prog *types.Program, ch *types.Charge, mykey string, person *types.PersonTotals, totals *types.ProgramTotals) (int64, error) {
	// The cap applies to what the person keeps: granted less what was
	// recovered after a merge.
	net := person.GrantedYen - person.RecoveredYen
	capLeft := prog.CapYen - net
	budgetLeft := prog.BudgetYen - totals.GrantedYen
	switch prog.Kind {
	case types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE:
		earned := ch.AmountYen * prog.RateBp / 10000
		switch {
		case capLeft <= 0:
			return 0, types.ErrCapReached.Wrapf("MyKey ID %s has been granted %d of %d yen in program %q", mykey, net, prog.CapYen, prog.Id)
		case budgetLeft <= 0:
			return 0, types.ErrBudgetExhausted.Wrapf("program %q has granted its budget of %d yen", prog.Id, prog.BudgetYen)
		case earned <= 0:
			return 0, types.ErrZeroGrant.Wrapf("a charge of %d yen earns nothing at %d basis points", ch.AmountYen, prog.RateBp)
		}
		return min(earned, capLeft, budgetLeft), nil
	case types.ProgramKind_PROGRAM_KIND_FIXED:
		switch {
		case !person.Attested:
			return 0, types.ErrNotEligible.Wrapf("MyKey ID %s in program %q", mykey, prog.Id)
		case net > 0:
			return 0, types.ErrCapReached.Wrapf("MyKey ID %s has been paid the %d yen of program %q", mykey, prog.FixedYen, prog.Id)
		case budgetLeft < prog.FixedYen:
			return 0, types.ErrBudgetExhausted.Wrapf("program %q has %d yen of its budget left, less than its %d yen", prog.Id, budgetLeft, prog.FixedYen)
		}
		return prog.FixedYen, nil
	default:
		return 0, types.ErrUnknownProgram.Wrapf("program %q has no known kind", prog.Id)
	}
}

// addGrant adds granted yen to the person's, the program's, the provider's
// and the day's totals.
func addGrant(c *cache, program, provider, mykey string, granted, now int64, person *types.PersonTotals, totals *types.ProgramTotals) error {
	person.GrantedYen += granted
	if err := save(c, types.KeyPerson(program, mykey), person, 0); err != nil {
		return err
	}
	totals.GrantedYen += granted
	totals.Grants++
	if err := save(c, types.KeyProgramTotals(program), totals, 0); err != nil {
		return err
	}
	vt, err := getProviderTotals(c, program, provider)
	if err != nil {
		return err
	}
	vt.GrantedYen += granted
	vt.Grants++
	if err := save(c, types.KeyProviderTotals(program, provider), vt, 0); err != nil {
		return err
	}
	// The public grant ledger: the day's aggregate, with no weight (the
	// yen weigh once, on the charge record).
	dkey := types.KeyDaily(program, provider, GrantDay(now))
	var day types.DailyTotals
	if _, err := load(c, dkey, &day); err != nil {
		return err
	}
	day.GrantedYen += granted
	day.Grants++
	return save(c, dkey, &day, 0)
}
