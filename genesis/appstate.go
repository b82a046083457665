package genesis

import (
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

// The app state and its rules are the ledger's: app/types' GenesisState
// and its Validate, which InitChain applies. This file keeps helpers that
// build programs for genesis documents.

// NewProgramPercent returns a percent_of_charge program named id whose link
// and grant windows are both [from, to) (truncated to whole seconds, UTC).
func NewProgramPercent(id string, rateBP, capYen, budgetYen int64, from, to time.Time) types.GenesisProgram {
	from, to = wholeSecondUTC(from), wholeSecondUTC(to)
	return types.GenesisProgram{
		ID: id, Name: id, Kind: types.KindPercentOfCharge,
		RateBP: rateBP, CapYen: capYen, BudgetYen: budgetYen,
		LinkStart: from, LinkEnd: to, GrantStart: from, GrantEnd: to,
	}
}

// NewProgramFixed returns a fixed program named id paying fixedYen per
// attested person (cap_yen = fixedYen), whose link and grant windows are
// both [from, to) (truncated to whole seconds, UTC).
func NewProgramFixed(id string, fixedYen, budgetYen int64, from, to time.Time) types.GenesisProgram {
	from, to = wholeSecondUTC(from), wholeSecondUTC(to)
	return types.GenesisProgram{
		ID: id, Name: id, Kind: types.KindFixed,
		FixedYen: fixedYen, CapYen: fixedYen, BudgetYen: budgetYen,
		LinkStart: from, LinkEnd: to, GrantStart: from, GrantEnd: to,
	}
}

func wholeSecondUTC(t time.Time) time.Time { return t.Truncate(time.Second).UTC() }
