package txbuild

import (
	"strings"

	"github.com/mykeyledger/mykey/app"
)

// The ledger checks these shapes too (app/validate.go); checking them
// before signing gives an error that names the flag or the CSV line.

// crockford is the MyKey ID alphabet (Crockford base32: no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ValidMyKeyID reports whether s has the shape of a MyKey ID.
func ValidMyKeyID(s string) bool {
	if len(s) != app.MyKeyIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(crockford, rune(s[i])) {
			return false
		}
	}
	return true
}

// ValidID reports whether s is a provider or program ID.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > app.MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidChargeRef reports whether s is a charge reference: 1-64 printable
// ASCII characters.
func ValidChargeRef(s string) bool {
	if len(s) == 0 || len(s) > app.MaxChargeRefLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
