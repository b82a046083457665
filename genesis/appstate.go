package genesis

import (
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

// The app state and its rules are the ledger's (app/types: GenesisState and
// its Validate, which InitChain applies); these names remain for the
// document's users.
type (
	// AppState is types.GenesisState.
	AppState = types.GenesisState
	// Government is types.GenesisGovernment.
	Government = types.GenesisGovernment
	// Provider is types.GenesisProvider.
	Provider = types.GenesisProvider
	// Program is types.GenesisProgram.
	Program = types.GenesisProgram
	// HexBytes is types.HexBytes.
	HexBytes = types.HexBytes
)

// Program kinds, as spelled in the genesis JSON.
const (
	KindPercentOfCharge = types.KindPercentOfCharge
	KindFixed           = types.KindFixed
)

// DecodeAppState is types.DecodeGenesisState: strict, and validated.
func DecodeAppState(bz []byte) (*AppState, error) { return types.DecodeGenesisState(bz) }

// ProgramFromProto is types.GenesisProgramFromProto.
func ProgramFromProto(p *types.Program) Program { return types.GenesisProgramFromProto(p) }

// NewProgramPercent returns a percent_of_charge program named id whose link
// and grant windows are both [from, to) (truncated to whole seconds, UTC).
func NewProgramPercent(id string, rateBP, capYen, budgetYen int64, from, to time.Time) Program {
	from, to = wholeSecondUTC(from), wholeSecondUTC(to)
	return Program{
		ID: id, Name: id, Kind: KindPercentOfCharge,
		RateBP: rateBP, CapYen: capYen, BudgetYen: budgetYen,
		LinkStart: from, LinkEnd: to, GrantStart: from, GrantEnd: to,
	}
}

// NewProgramFixed returns a fixed program named id paying fixedYen per
// attested person (cap_yen = fixedYen), whose link and grant windows are
// both [from, to) (truncated to whole seconds, UTC).
func NewProgramFixed(id string, fixedYen, budgetYen int64, from, to time.Time) Program {
	from, to = wholeSecondUTC(from), wholeSecondUTC(to)
	return Program{
		ID: id, Name: id, Kind: KindFixed,
		FixedYen: fixedYen, CapYen: fixedYen, BudgetYen: budgetYen,
		LinkStart: from, LinkEnd: to, GrantStart: from, GrantEnd: to,
	}
}

func wholeSecondUTC(t time.Time) time.Time { return t.Truncate(time.Second).UTC() }
