package node

import (
	"context"
	"strconv"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mykeyledger/mykey/app/types"
)

// MetricsSubsystem is the Prometheus subsystem of the app's metrics: they
// are named <namespace>_mykey_<name>, namespace being CometBFT's
// instrumentation.namespace ("cometbft" by default).
const MetricsSubsystem = "mykey"

// Metrics are the ledger's counters, derived from the results and events of
// committed blocks. Counters start at zero when the process starts, as
// CometBFT's do.
//
// Label values are program and provider IDs. Those of accepted items are
// registered IDs, so their number is bounded by governance; those seen
// only in rejections come from arbitrary transactions, so at most
// maxUnknownLabels of them get their own series and the rest count as
// "_other".
type Metrics struct {
	// Links counts accepted linkages.
	Links *prometheus.CounterVec // program, provider
	// Grants counts accepted charges, GrantedYen the yen they granted.
	Grants     *prometheus.CounterVec // program, provider
	GrantedYen *prometheus.CounterVec // program, provider
	// Rejections counts rejected items (each link of a batch, each charge
	// of a grant, each government action or whole transaction) by code.
	Rejections *prometheus.CounterVec // kind, program, provider, code, reason
	// GovActions counts accepted government actions.
	GovActions *prometheus.CounterVec // action

	mu      sync.Mutex
	known   map[string]bool // label values seen in accepted items
	unknown map[string]bool // other label values given their own series
}

const maxUnknownLabels = 32

// NewMetrics makes the app metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer, namespace, chainID string) (*Metrics, error) {
	opts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{
			Namespace: namespace, Subsystem: MetricsSubsystem, Name: name, Help: help,
			ConstLabels: prometheus.Labels{"chain_id": chainID},
		}
	}
	m := &Metrics{
		Links:      prometheus.NewCounterVec(opts("links_total", "Accepted linkages (program, MyKey ID) to a provider."), []string{"program", "provider"}),
		Grants:     prometheus.NewCounterVec(opts("grants_total", "Accepted charges (grants recorded)."), []string{"program", "provider"}),
		GrantedYen: prometheus.NewCounterVec(opts("granted_yen_total", "Yen granted by accepted charges."), []string{"program", "provider"}),
		Rejections: prometheus.NewCounterVec(opts("rejections_total", "Rejected links, charges, government actions and transactions, by code."), []string{"kind", "program", "provider", "code", "reason"}),
		GovActions: prometheus.NewCounterVec(opts("gov_actions_total", "Accepted government actions."), []string{"action"}),
		known:      map[string]bool{},
		unknown:    map[string]bool{},
	}
	for _, c := range []prometheus.Collector{m.Links, m.Grants, m.GrantedYen, m.Rejections, m.GovActions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// blockCounts are one block's increments, applied when the block commits.
type blockCounts struct {
	links, grants, yen map[[2]string]float64
	rejections         map[[5]string]float64
	gov                map[string]float64
}

// countBlock reads a block's results into increments. Label values are
// not yet capped (see label).
func countBlock(results []*abci.ExecTxResult) *blockCounts {
	b := &blockCounts{
		links: map[[2]string]float64{}, grants: map[[2]string]float64{}, yen: map[[2]string]float64{},
		rejections: map[[5]string]float64{}, gov: map[string]float64{},
	}
	for _, r := range results {
		if r == nil {
			continue
		}
		for _, ev := range r.Events {
			a := attrs(ev)
			accepted := a[types.AttrOutcome] == types.OutcomeAccepted
			pp := [2]string{a[types.AttrProgram], a[types.AttrProvider]}
			switch ev.Type {
			case types.EventLink:
				if accepted {
					b.links[pp]++
					continue
				}
			case types.EventGrant:
				if accepted {
					b.grants[pp]++
					if y, err := strconv.ParseUint(a[types.AttrGrantedYen], 10, 63); err == nil {
						b.yen[pp] += float64(y)
					}
					continue
				}
			case types.EventGov:
				if accepted {
					b.gov[a[types.AttrAction]]++
					continue
				}
			case types.EventRejected:
				// A whole transaction rejected before its items were
				// judged; its kind is an attribute.
			default:
				continue
			}
			if a[types.AttrOutcome] != types.OutcomeRejected {
				continue
			}
			kind := ev.Type
			if ev.Type == types.EventRejected {
				kind = a[types.AttrKind]
			}
			b.rejections[[5]string{kind, pp[0], pp[1], a[types.AttrCode], a[types.AttrReason]}]++
		}
	}
	return b
}

func attrs(ev abci.Event) map[string]string {
	m := make(map[string]string, len(ev.Attributes))
	for _, kv := range ev.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// add applies a committed block's increments.
func (m *Metrics) add(b *blockCounts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for pp, n := range b.links {
		m.known[pp[0]], m.known[pp[1]] = true, true
		m.Links.WithLabelValues(pp[0], pp[1]).Add(n)
	}
	for pp, n := range b.grants {
		m.known[pp[0]], m.known[pp[1]] = true, true
		m.Grants.WithLabelValues(pp[0], pp[1]).Add(n)
		m.GrantedYen.WithLabelValues(pp[0], pp[1]).Add(b.yen[pp])
	}
	for action, n := range b.gov {
		m.GovActions.WithLabelValues(action).Add(n)
	}
	for k, n := range b.rejections {
		m.Rejections.WithLabelValues(k[0], m.label(k[1]), m.label(k[2]), k[3], k[4]).Add(n)
	}
}

// label caps the program and provider label values that come only from
// rejected input. (Kinds, codes, reasons and actions come from the app's
// fixed lists.) Called with m.mu held.
func (m *Metrics) label(v string) string {
	if v == "" || m.known[v] || m.unknown[v] {
		return v
	}
	if len(m.unknown) >= maxUnknownLabels {
		return "_other"
	}
	m.unknown[v] = true
	return v
}

// instrumented wraps the application to count what each committed block
// did. It forwards every ABCI method unchanged; FinalizeBlock's results are
// counted when Commit succeeds, so a block executed again after a restart
// is counted once.
type instrumented struct {
	abci.Application
	m *Metrics

	mu      sync.Mutex
	pending *blockCounts
}

// Instrument returns app with m counting its committed blocks.
func Instrument(app abci.Application, m *Metrics) abci.Application {
	return &instrumented{Application: app, m: m}
}

func (a *instrumented) FinalizeBlock(ctx context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	res, err := a.Application.FinalizeBlock(ctx, req)
	if err == nil && res != nil {
		b := countBlock(res.TxResults)
		a.mu.Lock()
		a.pending = b
		a.mu.Unlock()
	}
	return res, err
}

func (a *instrumented) Commit(ctx context.Context, req *abci.CommitRequest) (*abci.CommitResponse, error) {
	res, err := a.Application.Commit(ctx, req)
	if err == nil {
		a.mu.Lock()
		b := a.pending
		a.pending = nil
		a.mu.Unlock()
		if b != nil {
			a.m.add(b)
		}
	}
	return res, err
}
