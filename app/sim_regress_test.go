package app

import (
	"github.com/mykeyledger/mykey/app/types"
	"testing"

	"github.com/mykeyledger/mykey/genesis"
)

// Regression tests for defects the simulation found (/work/sim-findings.md).

// TestMergeMapsTheOldCertificateToTheWinner: a succession that merges two
// used IDs must leave the old certificate naming the surviving ID, like
// every other certificate of the merged-away ID. It once wrote back the
// old certificate's record as read before the merge, naming the
// merged-away ID, so a retry of that certificate's link request was
// refused as replayed although its linkage still stood (moved to the
// surviving ID with the same provider and account).
func TestMergeMapsTheOldCertificateToTheWinner(t *testing.T) {
	n := newTestNet(t, netOptions{programs: append(defaultPrograms(),
		genesis.NewProgramPercent("second", 2500, 5000, 1_000_000, t0, windowEnd))})
	n.block()
	older, newer := n.card(), n.card()
	wantCode(t, n.block(n.linkTx(older, "mynapoint", "paypay", "o"))[0], nil)
	retry := n.linkTx(newer, "second", "linepay", "n")
	wantCode(t, n.block(retry)[0], nil)
	winner := n.mykeyOf(older)
	// The newer card's certificate is the succession's old one: its ID
	// (issued later) loses.
	wantCode(t, n.block(n.govTx(1, succession(newer.Cert, older.Cert)))[0], nil)
	if got := n.mykeyOf(newer); got != winner {
		t.Fatalf("old certificate names MyKey ID %s after the merge, want the surviving %s", got, winner)
	}
	res := n.block(retry)[0]
	wantCode(t, res, types.ErrAlreadyLinked)
	if attr(res, 0, "mykey_id") != winner {
		t.Fatalf("retry names %q, want %s", attr(res, 0, "mykey_id"), winner)
	}
}
