package types

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// The rules on records that both the state machine and its genesis
// document check. One place states each rule: genesis validation and the
// app's checks call these functions, so a genesis that validates is one
// InitChain accepts. Errors are plain descriptions; the app wraps them in
// its "malformed" rejection, genesis in a problem naming the field.

// Limits on identifiers, texts and amounts.
const (
	// MaxIDLen is the longest provider or program ID.
	MaxIDLen = 32
	// MaxNameLen is the longest provider or program name, in characters.
	MaxNameLen = 128
	// MaxNameBytes bounds a name's UTF-8 encoding.
	MaxNameBytes = 4 * MaxNameLen
	// MaxTextLen is the longest free text (reasons, references).
	MaxTextLen = 256
	// MaxAmountYen bounds a charge, a cap and a settlement.
	MaxAmountYen = 1_000_000_000_000
	// MaxBudgetYen bounds a program's budget.
	MaxBudgetYen = 1000 * MaxAmountYen
	// MaxUnixTime is 9999-12-31T23:59:59Z, the last time a program window
	// may name.
	MaxUnixTime = 253402300799
	// KeySize is the size of an ed25519 public key.
	KeySize = 32
)

// ValidID returns what is wrong with a provider or program ID, or nil: 1–32
// characters of [A-Za-z0-9._-], not "." or "..". IDs never contain "/", so
// every store key built from them is unambiguous.
func ValidID(id string) error {
	if id == "" {
		return errors.New("must not be empty")
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("has character %q; use only A-Z a-z 0-9 . _ -", c)
		}
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("is %d characters, at most %d allowed", len(id), MaxIDLen)
	}
	if id == "." || id == ".." {
		return errors.New("must not be . or ..")
	}
	return nil
}

// ValidName returns what is wrong with a provider or program name, or nil:
// valid UTF-8 (Japanese names are welcome), 1–128 characters, not blank,
// no control characters.
func ValidName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("must not be empty")
	case !utf8.ValidString(name):
		return errors.New("is not valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNameLen || len(name) > MaxNameBytes:
		return fmt.Errorf("is %d characters, at most %d allowed", utf8.RuneCountInString(name), MaxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError {
			return fmt.Errorf("%q has a control character", name)
		}
	}
	return nil
}

// ValidText reports whether s is printable ASCII of at most max bytes.
func ValidText(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidKey returns what is wrong with an ed25519 public key, or nil. A key
// must be 32 bytes, the canonical encoding of a curve point, and not of
// small order: with a small-order key (32 zero bytes, say) a signature can
// be forged without any private key.
func ValidKey(pub []byte) error {
	if len(pub) != KeySize {
		return fmt.Errorf("is %d bytes, want a %d-byte ed25519 public key", len(pub), KeySize)
	}
	var enc curve.CompressedEdwardsY
	if _, err := enc.SetBytes(pub); err != nil {
		return fmt.Errorf("is not an ed25519 point: %v", err)
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&enc); err != nil {
		return errors.New("is not an ed25519 point")
	}
	var again curve.CompressedEdwardsY
	again.SetEdwardsPoint(&p)
	if again != enc {
		return errors.New("is not the canonical encoding of an ed25519 point")
	}
	if p.IsSmallOrder() {
		return errors.New("is a small-order ed25519 point, which anyone can sign for")
	}
	return nil
}

// ValidPower returns what is wrong with a validator power given with a
// validator key, or nil: positive and at most CometBFT's maximum total.
// (The whole set's limits are checked where the set is known.)
func ValidPower(power, maxTotal int64) error {
	switch {
	case power <= 0:
		return fmt.Errorf("power %d must be positive when a validator key is set", power)
	case power > maxTotal:
		return fmt.Errorf("power %d is above the maximum %d", power, maxTotal)
	}
	return nil
}

// ValidateProvider checks a provider as it is registered (in genesis or by
// a government action). Each error names the field.
func ValidateProvider(p *Provider, maxPower int64) error {
	if p == nil {
		return errors.New("no provider")
	}
	if err := ValidID(p.Id); err != nil {
		return fmt.Errorf("id %q %w", p.Id, err)
	}
	if err := ValidName(p.Name); err != nil {
		return fmt.Errorf("name %w", err)
	}
	if err := ValidKey(p.GrantKey); err != nil {
		return fmt.Errorf("grant_key %w", err)
	}
	if len(p.ValidatorKey) == 0 {
		if p.Power != 0 {
			return fmt.Errorf("power %d is set but validator_key is empty", p.Power)
		}
		return nil
	}
	if err := ValidKey(p.ValidatorKey); err != nil {
		return fmt.Errorf("validator_key %w", err)
	}
	return ValidPower(p.Power, maxPower)
}

// ValidateProgram checks a program definition. A fixed program pays
// fixed_yen once per person, so its cap is fixed_yen.
func ValidateProgram(p *Program) error {
	if p == nil {
		return errors.New("no program")
	}
	if err := ValidID(p.Id); err != nil {
		return fmt.Errorf("id %q %w", p.Id, err)
	}
	if err := ValidName(p.Name); err != nil {
		return fmt.Errorf("name %w", err)
	}
	for _, t := range []struct {
		name string
		v    int64
	}{{"link_start", p.LinkStart}, {"link_end", p.LinkEnd}, {"grant_start", p.GrantStart}, {"grant_end", p.GrantEnd}} {
		if t.v < 0 || t.v > MaxUnixTime {
			return fmt.Errorf("%s %d is out of range (1970-01-01 to 9999-12-31)", t.name, t.v)
		}
	}
	switch {
	case p.LinkStart >= p.LinkEnd:
		return errors.New("link_start must be before link_end")
	case p.GrantStart >= p.GrantEnd:
		return errors.New("grant_start must be before grant_end")
	case p.BudgetYen <= 0 || p.BudgetYen > MaxBudgetYen:
		return fmt.Errorf("budget_yen %d is out of range 1..%d", p.BudgetYen, int64(MaxBudgetYen))
	case p.CapYen <= 0 || p.CapYen > MaxAmountYen:
		return fmt.Errorf("cap_yen %d is out of range 1..%d", p.CapYen, int64(MaxAmountYen))
	}
	switch p.Kind {
	case ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE:
		if p.RateBp <= 0 || p.RateBp > 10000 {
			return fmt.Errorf("rate_bp %d must be in 1..10000 (basis points)", p.RateBp)
		}
		if p.FixedYen != 0 {
			return errors.New("fixed_yen must be 0 for a percent_of_charge program")
		}
	case ProgramKind_PROGRAM_KIND_FIXED:
		if p.FixedYen <= 0 || p.FixedYen != p.CapYen {
			return fmt.Errorf("fixed_yen %d must be positive and equal to cap_yen %d (one amount per person, once)", p.FixedYen, p.CapYen)
		}
		if p.RateBp != 0 {
			return errors.New("rate_bp must be 0 for a fixed program")
		}
	default:
		return fmt.Errorf("kind %v is unknown", p.Kind)
	}
	return nil
}

// CheckProvider is ValidateProvider as the ledger's rejection: a provider
// that breaks a rule is malformed. The government's register_provider and
// InitChain apply it, and clients before they sign.
func CheckProvider(p *Provider) error {
	if err := ValidateProvider(p, MaxTotalPower); err != nil {
		return ErrMalformed.Wrapf("provider: %v", err)
	}
	return nil
}

// CheckProgram is ValidateProgram as the ledger's rejection.
func CheckProgram(p *Program) error {
	if err := ValidateProgram(p); err != nil {
		return ErrMalformed.Wrapf("program: %v", err)
	}
	return nil
}
