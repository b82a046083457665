package types

import (
	"errors"
	"fmt"
)

// Codespace is the ABCI codespace of every MyKey Ledger rejection.
const Codespace = "mykey"

// Error is a rejection: a stable code in codespace "mykey" and a message in
// plain words. A transaction that fails with an Error gets its code and
// message, never a Go error: an error returned from an ABCI method halts the
// node.
type Error struct {
	Code uint32
	Name string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is lets errors.Is match a wrapped rejection by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Wrapf returns the rejection with more detail in its message.
func (e *Error) Wrapf(format string, args ...any) error {
	return &Error{Code: e.Code, Name: e.Name, Msg: e.Msg + ": " + fmt.Sprintf(format, args...)}
}

func register(code uint32, name, msg string) *Error {
	e := &Error{Code: code, Name: name, Msg: msg}
	registry = append(registry, e)
	return e
}

// registry lists every rejection; TestCodesUnique fails if two collide.
var registry []*Error

// The rejections. Codes are stable: never renumber or reuse one.
var (
	ErrMalformed          = register(1, "malformed", "malformed transaction")
	ErrWrongChain         = register(2, "wrong_chain", "signed for another chain")
	ErrExpired            = register(3, "expired", "signed request has expired")
	ErrBadSignature       = register(4, "bad_signature", "signature does not verify")
	ErrUntrustedCert      = register(5, "untrusted_certificate", "certificate does not chain to a trusted JPKI user-authentication CA")
	ErrCertExpired        = register(6, "certificate_expired", "certificate is not valid at block time")
	ErrCertRevoked        = register(7, "certificate_revoked", "certificate has been revoked")
	ErrUnknownProvider    = register(8, "unknown_provider", "unknown provider")
	ErrProviderSuspended  = register(9, "provider_suspended", "provider is suspended")
	ErrWindowClosed       = register(10, "window_closed", "program window is closed")
	ErrAlreadyLinked      = register(11, "already_linked", "this person is already linked in this program")
	ErrAccountLinked      = register(12, "account_already_linked", "this provider account is already linked to another person in this program")
	ErrNotLinked          = register(13, "not_linked", "person is not linked to this provider in this program")
	ErrDuplicateCharge    = register(14, "duplicate_charge", "charge reference already recorded")
	ErrCapReached         = register(15, "cap_reached", "person has reached the program cap")
	ErrBudgetExhausted    = register(16, "budget_exhausted", "program budget is exhausted")
	ErrUnauthorized       = register(17, "unauthorized", "not authorized")
	ErrBadSequence        = register(18, "bad_sequence", "wrong government sequence number")
	ErrUnknownProgram     = register(19, "unknown_program", "unknown program")
	ErrNotEligible        = register(20, "not_eligible", "person has not been attested eligible for this fixed program")
	ErrCertKeyUsage       = register(21, "certificate_key_usage", "certificate is not a user-authentication certificate with digitalSignature key usage")
	ErrUnknownMyKey       = register(22, "unknown_mykey", "unknown MyKey ID")
	ErrInvalidAction      = register(23, "invalid_action", "government action does not apply to the current state")
	ErrSettlementTooLarge = register(24, "settlement_exceeds_outstanding", "settlement exceeds what is outstanding")
	ErrTooLarge           = register(25, "too_large", "transaction too large")
	ErrWrongProvider      = register(26, "wrong_provider", "link request names another provider")
	ErrZeroGrant          = register(27, "zero_grant", "charge earns no bonus")
	ErrReplayed           = register(28, "replayed", "signed request was already used")
	ErrNotReady           = register(29, "not_ready", "the chain has not committed its first block yet; try again shortly")
	ErrCertConflict       = register(30, "certificate_conflict", "another CA key issued a certificate with this issuer name and serial number")
	ErrNodeNotRegistered  = register(31, "node_not_registered", "P2P node is not registered to the government or a provider")
	ErrNotPublic          = register(32, "not_public", "not served on the public endpoint: a validator's full RPC serves it to validators' tools")
	ErrTooManyRequests    = register(33, "too_many_requests", "this certificate has too many unexpired link requests judged; sign again after the oldest expire")
	ErrInternal           = register(99, "internal", "internal error")
)

// Codes returns every registered rejection, in registration order.
func Codes() []*Error { return append([]*Error(nil), registry...) }

// ABCIInfo turns an error into the (code, log) a transaction result
// carries. Unknown errors become the internal code with a generic log so
// that nothing node-specific reaches consensus.
func ABCIInfo(err error) (uint32, string) {
	if err == nil {
		return 0, ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Msg
	}
	return ErrInternal.Code, ErrInternal.Msg
}

// CodeName gives the registered name of a code ("" if none).
func CodeName(code uint32) string {
	for _, e := range registry {
		if e.Code == code {
			return e.Name
		}
	}
	return ""
}
