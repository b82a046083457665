package types

import (
	"math"
	"strings"
)

// Limits on what a transaction may carry, checked by the ledger before any
// state is read and by its clients before they sign. (MaxIDLen, MaxNameLen,
// MaxTextLen, MaxAmountYen and MaxBudgetYen, shared with genesis
// validation, are in rules.go.)
const (
	// MaxChargeRefLen is the longest charge reference, in bytes of
	// printable ASCII.
	MaxChargeRefLen = 64
	// MaxChargesPerTx is the most charges one grant transaction carries.
	MaxChargesPerTx = 10000
	// MaxLinksPerBatch is the most links one link batch carries.
	MaxLinksPerBatch = 5000
	// CommitmentLen is the size of an account commitment.
	CommitmentLen = 32
	// MaxGovActionBytes bounds a government action's encoding, so that its
	// history record stays far below the store's largest value.
	MaxGovActionBytes = 1 << 20
	// MaxLinkValidity bounds how far ahead a signed link request may
	// expire, in seconds, so a signature cannot be held back and replayed
	// much later.
	MaxLinkValidity = 7 * 24 * 60 * 60
	// MaxJudgedRequests is the most unexpired link requests of one
	// certificate the ledger holds as judged (CertRecord.Judged); a
	// further one is refused (too_many_requests) until the oldest expire,
	// at most MaxLinkValidity later.
	MaxJudgedRequests = 32
	// MaxChargeSkew is how far past block time a charge time may lie, in
	// seconds (providers' clocks differ slightly from block time).
	MaxChargeSkew = 5 * 60
	// MyKeyIDLen is the length of a MyKey ID.
	MyKeyIDLen = 8
	// MaxRangeLimit bounds the records of one "/range" answer.
	MaxRangeLimit = 1000
	// MaxTotalPower is CometBFT's maximum total voting power
	// (types.MaxTotalVotingPower), which bounds one validator's power.
	MaxTotalPower = math.MaxInt64 / 8
)

// GovernmentOwner owns the government's nodes, as it owns its validator
// key: the owner named in validator/ and nodeowner/ records that is not a
// provider ID.
const GovernmentOwner = "government"

// CertIndexPath is the query path that finds a certificate's record: Data
// is the certificate (DER) or a CertRef (issuer and serial, protobuf), or
// the path is CertIndexPath/<hex of either> (for clients that send no
// Data). The answer's Key is the record's store key, cert/<index>
// (app/pseudonym), and its value is proved against that key when asked.
// Only a node holding the network pseudonym key can compute the index, so
// this is served on a validator's full RPC; the public endpoint, which
// serves only public directories (PublicKey), refuses it.
const CertIndexPath = "/certindex"

// MyKeyIDAlphabet is the alphabet of MyKey IDs: Crockford's base32 (no I,
// L, O, U).
const MyKeyIDAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ValidMyKeyID reports whether s has the shape of a MyKey ID: MyKeyIDLen
// characters of MyKeyIDAlphabet.
func ValidMyKeyID(s string) bool {
	if len(s) != MyKeyIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(MyKeyIDAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// ValidChargeRef reports whether s is a charge reference: 1 to
// MaxChargeRefLen printable ASCII characters.
func ValidChargeRef(s string) bool {
	return len(s) > 0 && ValidText(s, MaxChargeRefLen)
}
