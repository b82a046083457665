package node

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeApp answers FinalizeBlock with canned results; every other method
// panics (the embedded nil interface), so the test notices if the wrapper
// calls anything else.
type fakeApp struct {
	abci.Application
	results []*abci.ExecTxResult
	commits int
}

func (f *fakeApp) FinalizeBlock(context.Context, *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	return &abci.FinalizeBlockResponse{TxResults: f.results}, nil
}

func (f *fakeApp) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	f.commits++
	return &abci.CommitResponse{}, nil
}

func ev(typ string, kv ...string) abci.Event {
	e := abci.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attributes = append(e.Attributes, abci.EventAttribute{Key: kv[i], Value: kv[i+1], Index: true})
	}
	return e
}

// gathered returns every sample of the registry as "name{labels} value".
func gathered(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				if l.GetName() != "chain_id" {
					ls = append(ls, l.GetName()+"="+l.GetValue())
				}
			}
			out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(ls, ","), m.GetCounter().GetValue()))
		}
	}
	sort.Strings(out)
	return out
}

// instrumentedFake returns a fakeApp wrapped by Instrument, its metrics on a
// fresh registry.
func instrumentedFake(t *testing.T) (*prometheus.Registry, *fakeApp, abci.Application) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "cometbft", "test-1")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeApp{}
	return reg, fake, Instrument(fake, m)
}

func TestMetricsCountCommittedBlocks(t *testing.T) {
	reg, fake, a := instrumentedFake(t)
	ctx := context.Background()
	fake.results = []*abci.ExecTxResult{
		{Events: []abci.Event{ev("link", "program", "p", "provider", "paypay", "mykey_id", "ABCDEFGH", "outcome", "accepted", "code", "0")}},
		{Code: 11, Events: []abci.Event{ev("link", "program", "p", "provider", "linepay", "outcome", "rejected", "code", "11", "reason", "already_linked")}},
		{Events: []abci.Event{
			ev("grant", "program", "p", "provider", "paypay", "granted_yen", "250", "outcome", "accepted", "code", "0"),
			ev("grant", "program", "p", "provider", "paypay", "granted_yen", "0", "outcome", "rejected", "code", "14", "reason", "duplicate_charge"),
			ev("grant", "program", "p", "provider", "paypay", "granted_yen", "4750", "outcome", "accepted", "code", "0"),
		}},
		{Code: 1, Events: []abci.Event{ev("rejected", "kind", "malformed", "outcome", "rejected", "code", "1", "reason", "malformed")}},
		{Events: []abci.Event{ev("gov", "action", "register_provider", "sequence", "1", "outcome", "accepted", "code", "0")}},
	}
	if _, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 1}); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg); len(got) != 0 {
		t.Fatalf("counted before Commit: %v", got)
	}
	// The block is executed again (a restart between FinalizeBlock and
	// Commit): it must count once.
	if _, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"cometbft_mykey_gov_actions_total{action=register_provider} 1",
		"cometbft_mykey_granted_yen_total{program=p,provider=paypay} 5000",
		"cometbft_mykey_grants_total{program=p,provider=paypay} 2",
		"cometbft_mykey_links_total{program=p,provider=paypay} 1",
		"cometbft_mykey_rejections_total{code=1,kind=malformed,program=,provider=,reason=malformed} 1",
		"cometbft_mykey_rejections_total{code=11,kind=link,program=p,provider=linepay,reason=already_linked} 1",
		"cometbft_mykey_rejections_total{code=14,kind=grant,program=p,provider=paypay,reason=duplicate_charge} 1",
	}
	if got := gathered(t, reg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("metrics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMetricsLabelCap: program and provider IDs seen only in rejections
// get at most maxUnknownLabels series.
func TestMetricsLabelCap(t *testing.T) {
	reg, fake, a := instrumentedFake(t)
	for i := range 3 * maxUnknownLabels {
		fake.results = []*abci.ExecTxResult{{Events: []abci.Event{
			ev("link", "program", fmt.Sprintf("junk%d", i), "provider", "paypay", "outcome", "rejected", "code", "19", "reason", "unknown_program"),
		}}}
		if _, err := a.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	got := gathered(t, reg)
	if len(got) > maxUnknownLabels+1 {
		t.Fatalf("%d series, want at most %d", len(got), maxUnknownLabels+1)
	}
	if !strings.Contains(strings.Join(got, "\n"), "program=_other") {
		t.Fatalf("no _other series: %v", got)
	}
}

func TestReadyHandler(t *testing.T) {
	cases := []struct {
		st   nodeStatus
		code int
	}{
		{nodeStatus{CatchingUp: true, Peers: 3, Height: 10}, http.StatusServiceUnavailable},
		{nodeStatus{Peers: 0, Height: 10}, http.StatusServiceUnavailable},
		{nodeStatus{Peers: 2, Height: 0}, http.StatusServiceUnavailable},
		{nodeStatus{Peers: 1, Height: 10}, http.StatusOK},
	}
	for _, tc := range cases {
		h := readyHandler(func() nodeStatus { return tc.st }, 1)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
		if rec.Code != tc.code {
			t.Errorf("%+v: got %d, want %d (%s)", tc.st, rec.Code, tc.code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `"ready":`) {
			t.Errorf("%+v: body %s", tc.st, rec.Body)
		}
	}
}
