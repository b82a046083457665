package jpki

import (
	"errors"
	"strconv"
)

// Reason says why a certificate or signature was refused; callers switch on
// it. The zero value means "no reason" and is never carried by an *Error.
//
// A Reason is itself an error, so errors.Is(err, jpki.Expired) reports
// whether err is a refusal for that reason.
type Reason int

const (
	// Malformed: the certificate is not a well-formed X.509 certificate the
	// ledger can process (bad DER, oversized, trailing data, an unsupported
	// critical extension, ...).
	Malformed Reason = iota + 1
	// Untrusted: the certificate is not issued by any trust anchor.
	Untrusted
	// NotYetValid: the time is before the certificate's (or its issuing
	// anchor's) validity period.
	NotYetValid
	// Expired: the time is after the certificate's (or its issuing anchor's)
	// validity period.
	Expired
	// KeyUsage: the certificate may not be used to sign: it lacks the
	// digitalSignature key usage or it is a CA certificate.
	KeyUsage
	// WeakKey: the certificate's key is not an RSA key of at least
	// MinRSABits bits.
	WeakKey
	// BadSignature: the signature does not verify under the certificate's key.
	BadSignature
)

var reasonWords = [...]string{
	Malformed:    "malformed certificate",
	Untrusted:    "untrusted certificate",
	NotYetValid:  "certificate not yet valid",
	Expired:      "certificate expired",
	KeyUsage:     "key usage not permitted",
	WeakKey:      "weak key",
	BadSignature: "bad signature",
}

// String returns the reason in plain words, e.g. "certificate expired".
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonWords) {
		return reasonWords[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Error makes a Reason usable as an errors.Is target.
func (r Reason) Error() string { return "jpki: " + r.String() }

// Error is a refusal of a certificate or signature. Verification functions
// of this package return *Error for every refusal; use errors.As to get it,
// or errors.Is with a Reason (or an *Error with the same Reason) to test it.
type Error struct {
	Reason Reason
	// Detail says what was wrong in plain words. It depends only on the
	// inputs (never on cache state), but its wording may change between
	// versions and may quote crypto/x509: log it, do not hash it into state.
	Detail string
}

// Error returns "jpki: <reason in plain words>: <detail>".
func (e *Error) Error() string {
	if e.Detail == "" {
		return "jpki: " + e.Reason.String()
	}
	return "jpki: " + e.Reason.String() + ": " + e.Detail
}

// Is reports whether target is e's Reason, or an *Error with the same Reason
// and either no Detail or the same Detail.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Reason:
		return e.Reason == t
	case *Error:
		return t != nil && e.Reason == t.Reason && (t.Detail == "" || t.Detail == e.Detail)
	}
	return false
}

// ReasonOf returns the Reason of the first *Error in err's chain, or 0 if
// err is nil or carries no *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}

func refuse(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }
