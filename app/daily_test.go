package app

import (
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
)

// countOf reads the proved count of a counted directory.
func countOf(t *testing.T, n *testNet, dir string) uint64 {
	t.Helper()
	res, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: "/key", Data: []byte(types.CountKey(dir))})
	if err != nil || res.Code != 0 {
		t.Fatalf("query count of %s: %v %v", dir, err, res.Log)
	}
	c, err := types.DecodeCount(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantDaily(t *testing.T, n *testNet, program, provider, day string, yen, grants int64) {
	t.Helper()
	var d types.DailyTotals
	if !n.query(types.KeyDaily(program, provider, day), &d) {
		t.Fatalf("no daily record %s/%s/%s", program, provider, day)
	}
	if d.GrantedYen != yen || d.Grants != grants {
		t.Fatalf("daily %s/%s/%s = %d yen in %d grants, want %d in %d", program, provider, day, d.GrantedYen, d.Grants, yen, grants)
	}
}

// A grant counts in the day of its block's time in Japan: 15:00 UTC is
// midnight there. Rejected charges count nowhere.
func TestDailyTotalsAcrossJapaneseMidnight(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	c2 := n.card()
	wantCode(t, n.block(n.linkTx(c2, "mynapoint", "linepay", "acct-2"))[0], nil)
	id2 := n.mykeyOf(c2)

	// 2025-04-01 14:59:55 UTC is 23:59:55 on 1 April in Japan.
	n.now = time.Date(2025, 4, 1, 14, 59, 50, 0, time.UTC)
	rs := n.block(
		n.grantTx("paypay", charge("mynapoint", id, "a1", 4000), charge("mynapoint", id, "a2", 2000)),
		n.grantTx("linepay", charge("mynapoint", id2, "b1", 1000)),
	)
	wantCode(t, rs[0], nil)
	wantCode(t, rs[1], nil)
	// 15:00:00 UTC is midnight, 2 April, in Japan.
	rs = n.block(n.grantTx("paypay", charge("mynapoint", id, "a3", 400), charge("mynapoint", id, "a1", 4000)))
	wantCode(t, rs[0], nil)
	if attr(rs[0], 1, "reason") != "duplicate_charge" {
		t.Fatalf("second a1: %v", rs[0].Events[1].Attributes)
	}
	// The cap (5000) leaves 3500 of a 20000 charge's 5000.
	n.now = time.Date(2025, 4, 2, 14, 59, 0, 0, time.UTC)
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "a4", 20000)))[0], nil)
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "a5", 20000)))[0], types.ErrCapReached)

	wantDaily(t, n, "mynapoint", "paypay", "2025-04-01", 1500, 2)
	wantDaily(t, n, "mynapoint", "linepay", "2025-04-01", 250, 1)
	wantDaily(t, n, "mynapoint", "paypay", "2025-04-02", 100+3400, 2)
	var none types.DailyTotals
	if n.query(types.KeyDaily("mynapoint", "linepay", "2025-04-02"), &none) {
		t.Fatalf("a daily record for a day linepay granted nothing: %+v", &none)
	}
	pt := n.programTotals("mynapoint")
	if pt.GrantedYen != 1500+250+3500 || pt.Grants != 5 {
		t.Fatalf("program totals %+v", &pt)
	}
	// The daily records carry no weight: the root's sum is the grants'.
	if got := rootSum(t, n.appHash()); got != uint64(pt.GrantedYen) {
		t.Fatalf("root sum %d, program granted %d", got, pt.GrantedYen)
	}
	for dir, want := range map[string]uint64{"daily/": 3, "daily/mynapoint/": 3, "daily/mynapoint/paypay/": 2, "daily/mynapoint/linepay/": 1} {
		if got := countOf(t, n, dir); got != want {
			t.Fatalf("count of %s = %d, want %d", dir, got, want)
		}
	}
}

func TestDailyTotalsFixedProgram(t *testing.T) {
	fixed := genesis.NewProgramFixed("flat7500", 7500, 1_000_000, t0, windowEnd)
	n := newTestNet(t, netOptions{programs: append(defaultPrograms(), fixed)})
	var ids []string
	for _, acct := range []string{"f-a", "f-b"} {
		c := n.card()
		wantCode(t, n.block(n.linkTx(c, "flat7500", "linepay", acct))[0], nil)
		ids = append(ids, n.mykeyOf(c))
	}
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_AttestEligibility{AttestEligibility: &types.AttestEligibility{
		ProgramId: "flat7500", MykeyIds: ids}}}))[0], nil)
	// 15:00:05 UTC on 1 April: 2 April in Japan.
	n.now = time.Date(2025, 4, 1, 15, 0, 0, 0, time.UTC)
	rs := n.block(n.grantTx("linepay", charge("flat7500", ids[0], "f1", 0), charge("flat7500", ids[1], "f2", 0), charge("flat7500", ids[0], "f3", 0)))
	wantCode(t, rs[0], nil)
	if attr(rs[0], 2, "reason") != "cap_reached" {
		t.Fatalf("a second fixed grant: %v", rs[0].Events[2].Attributes)
	}
	wantDaily(t, n, "flat7500", "linepay", "2025-04-02", 15000, 2)
	var none types.DailyTotals
	if n.query(types.KeyDaily("flat7500", "linepay", "2025-04-01"), &none) {
		t.Fatalf("fixed grants counted in the UTC day: %+v", &none)
	}
}

func TestGrantDay(t *testing.T) {
	for _, tc := range []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2025, 4, 1, 14, 59, 59, 0, time.UTC), "2025-04-01"},
		{time.Date(2025, 4, 1, 15, 0, 0, 0, time.UTC), "2025-04-02"},
		{time.Date(2025, 12, 31, 15, 0, 0, 0, time.UTC), "2026-01-01"},
		{time.Date(2024, 2, 28, 20, 0, 0, 0, time.UTC), "2024-02-29"},
	} {
		if got := GrantDay(tc.utc.Unix()); got != tc.want {
			t.Errorf("GrantDay(%s) = %s, want %s", tc.utc, got, tc.want)
		}
	}
}
