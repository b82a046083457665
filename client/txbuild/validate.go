package txbuild

import "github.com/mykeyledger/mykey/app/types"

// The ledger checks these shapes too, by the same rules (app/types);
// checking them before signing gives an error that names the flag or the
// CSV line.

// ValidMyKeyID reports whether s has the shape of a MyKey ID.
func ValidMyKeyID(s string) bool { return types.ValidMyKeyID(s) }

// ValidID reports whether s is a provider or program ID.
func ValidID(s string) bool { return types.ValidID(s) == nil }

// ValidChargeRef reports whether s is a charge reference: 1-64 printable
// ASCII characters.
func ValidChargeRef(s string) bool { return types.ValidChargeRef(s) }
