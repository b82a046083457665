package types

import "strings"

// The public side. Validators and their sentries see everything: blocks,
// transactions with their certificates, and every record of the state. The
// public (auditors, journalists, anyone) reads block headers and proved
// state through a node's public endpoint, which serves only the records
// under PublicRoots. What is public must not name a certificate, nor hold
// anything an outsider can compute from one (DESIGN §3), and holds no
// charge-level detail: a person's totals, the provider they linked to and
// day-level aggregates are enough to audit the program, while single
// charges with their amount, time and reference would make a pseudonym a
// spending record.

// PublicRoots are the top-level state directories (and single records) the
// public endpoint serves. Everything else stays with the validators:
//   - cert/ (the certificate index, keyed by a PRF image, with the link
//     requests judged),
//   - account/ (the account-commitment index),
//   - charge/ (each charge: amount, time, provider reference).
var PublicRoots = []string{
	PrefixCount,
	PrefixDaily,
	PrefixGov,
	PrefixHistory,
	PrefixLink,
	PrefixMeta,
	PrefixMyKey,
	PrefixNode,
	PrefixOverGrant,
	PrefixPerson,
	PrefixProgram,
	PrefixProgramTotals,
	PrefixProvider,
	PrefixProviderTotals,
	PrefixValidator,
}

// PublicKey reports whether the record at key may be served to the public.
// A count record is public when the directory it counts is.
func PublicKey(key string) bool {
	if dir, ok := strings.CutPrefix(key, CountPrefix); ok {
		return PublicKey(dir)
	}
	for _, r := range PublicRoots {
		if r == CountPrefix {
			continue
		}
		if strings.HasSuffix(r, "/") && strings.HasPrefix(key, r) || key == r {
			return true
		}
	}
	return false
}

// PublicPrefix reports whether every key a range over prefix can return is
// public: the prefix must lie within one public directory ("person/",
// "person/<program>/" …). A shorter prefix ("", "p") could run into a
// private directory.
func PublicPrefix(prefix string) bool {
	if dir, ok := strings.CutPrefix(prefix, CountPrefix); ok {
		return PublicPrefix(dir)
	}
	for _, r := range PublicRoots {
		if r == CountPrefix || !strings.HasSuffix(r, "/") {
			continue
		}
		if strings.HasPrefix(prefix, r) {
			return true
		}
	}
	return false
}
