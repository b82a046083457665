package e2e

import (
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testnet"
)

// TestLiveness: with one validator of four stopped the other three keep
// committing; with two stopped nothing is committed (no 2/3 majority);
// when one returns, commits resume. Every validator has equal power.
func TestLiveness(t *testing.T) {
	nw := newNetwork(t, testnet.Options{Validators: 4})
	nw.StartAll(t)

	nw.Stop(t, 3)
	h := nw.MaxHeight(0, 1, 2)
	for _, i := range []int{0, 1, 2} {
		nw.WaitHeight(t, i, h+3, 30*time.Second)
	}
	t.Logf("one of four stopped: heights moved from %d to %d", h, nw.MaxHeight(0, 1, 2))

	nw.Stop(t, 2)
	// Let a block in flight finish, then watch: nothing may be committed
	// for well over the time that made three blocks above.
	time.Sleep(2 * time.Second)
	stuck := max(nw.MustHeight(t, 0), nw.MustHeight(t, 1))
	time.Sleep(6 * time.Second)
	if now := max(nw.MustHeight(t, 0), nw.MustHeight(t, 1)); now != stuck {
		t.Fatalf("two of four stopped, yet height moved from %d to %d", stuck, now)
	}
	t.Logf("two of four stopped: height stayed at %d for 6 s", stuck)

	nw.Start(t, 2)
	for _, i := range []int{0, 1, 2} {
		nw.WaitHeight(t, i, stuck+3, 60*time.Second)
	}
	t.Logf("one returned: heights moved from %d to %d", stuck, nw.MaxHeight(0, 1, 2))
	top := nw.MaxHeight(0, 1, 2)
	for _, i := range []int{0, 1, 2} {
		nw.WaitHeight(t, i, top, 30*time.Second)
	}
	nw.sameAppHashes([]int{0, 1, 2}, 1, top)
}
