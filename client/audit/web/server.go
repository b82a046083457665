package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// Source is where the explorer reads from (*lightverify.Client).
type Source interface {
	report.Source
	Anchor() string
	ChainID() string
}

// Options configure New.
type Options struct {
	Source Source
	// SpoolDir holds the snapshot's grant file ("": os.TempDir()).
	SpoolDir string
	// Refresh is how often a new snapshot is taken (0: only at start and
	// on request).
	Refresh time.Duration
	// Logf receives progress messages (nil: none).
	Logf func(format string, args ...any)
}

// Server is the explorer.
type Server struct {
	src     Source
	dir     string
	refresh time.Duration
	logf    func(string, ...any)
	pages   *pages
	kick    chan struct{}

	mu       sync.RWMutex
	snap     *snapshot
	old      *snapshot // kept one generation so its file outlives readers
	failure  error     // a node failed verification: serve nothing else
	lastErr  error     // the last snapshot failed for another reason
	building bool
	progress string
}

// snapshot is one verified view of the ledger.
type snapshot struct {
	totals     *report.Totals
	history    *report.History
	scan       *report.Scan
	daily      *report.Daily
	mismatches []report.Mismatch
	spool      string // CSV of every grant recorded by totals.Height
	// rejected are the rejected charges recorded by totals.Height (at
	// most maxRejected): shown on person pages, never counted as grants.
	rejected []*report.Grant
	taken    time.Time
	took     time.Duration
}

// New returns an explorer; call Run to take snapshots.
func New(opts Options) (*Server, error) {
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s := &Server{src: opts.Source, dir: opts.SpoolDir, refresh: opts.Refresh, logf: opts.Logf, pages: p, kick: make(chan struct{}, 1)}
	if s.dir == "" {
		s.dir = os.TempDir()
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	return s, nil
}

// Run takes a snapshot now, then every Refresh and on request, until ctx
// ends; then it removes its spool files.
func (s *Server) Run(ctx context.Context) {
	defer s.cleanup()
	var tick <-chan time.Time
	if s.refresh > 0 {
		t := time.NewTicker(s.refresh)
		defer t.Stop()
		tick = t.C
	}
	for {
		s.Snapshot(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-s.kick:
		}
	}
}

// RequestSnapshot asks Run for a new snapshot soon.
func (s *Server) RequestSnapshot() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Snapshot takes a snapshot and makes it current. A verification failure
// puts the explorer in its failed state.
func (s *Server) Snapshot(ctx context.Context) error {
	s.mu.Lock()
	if s.failure != nil {
		s.mu.Unlock()
		return s.failure
	}
	s.building = true
	s.mu.Unlock()
	snap, err := s.build(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.building = false
	if err != nil {
		if _, ok := lightverify.Untrusted(err); ok {
			s.failure = err
		} else if ctx.Err() == nil {
			s.lastErr = err
		}
		s.logf("explorer: snapshot failed: %v", err)
		return err
	}
	if s.old != nil {
		os.Remove(s.old.spool)
	}
	s.old, s.snap, s.lastErr = s.snap, snap, nil
	s.logf("explorer: snapshot at height %d: %d grants, %d mismatches (%s)", snap.totals.Height, snap.scan.Kept, len(snap.mismatches), snap.took.Round(time.Millisecond))
	return nil
}

// fail records a verification failure found while serving.
func (s *Server) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		s.failure = err
	}
}

func (s *Server) cleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sn := range []*snapshot{s.old, s.snap} {
		if sn != nil {
			os.Remove(sn.spool)
		}
	}
	s.old, s.snap = nil, nil
}

func (s *Server) setProgress(format string, args ...any) {
	s.mu.Lock()
	s.progress = fmt.Sprintf(format, args...)
	s.mu.Unlock()
}

func (s *Server) build(ctx context.Context) (_ *snapshot, err error) {
	start := time.Now()
	s.setProgress("reading the totals")
	t, err := report.ReadTotals(ctx, s.src)
	if err != nil {
		return nil, err
	}
	s.setProgress("reading the history (height %d)", t.Height)
	h, err := report.ReadHistory(ctx, s.src, t)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.dir, "mykey-explorer-*.csv")
	if err != nil {
		return nil, fmt.Errorf("web: spool: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	gw, err := report.NewGrantWriter(bw, report.FormatCSV)
	if err != nil {
		return nil, err
	}
	daily := report.NewDaily()
	var rejected []*report.Grant
	scan, err := report.ScanGrants(ctx, s.src, t.Height, []report.Scope{{}}, report.Filter{Rejected: true}, func(sc *report.Scan) {
		s.setProgress("reading grants recorded by height %d: %d so far", t.Height, sc.Read)
	}, func(g *report.Grant) error {
		if g.IsRejected() {
			if len(rejected) < maxRejected {
				rejected = append(rejected, g)
			}
			return nil
		}
		daily.Add(g)
		return gw.Write(g)
	})
	if err != nil {
		return nil, err
	}
	if err := gw.Flush(); err != nil {
		return nil, fmt.Errorf("web: spool: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("web: spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("web: spool: %w", err)
	}
	ms := append(report.Reconcile(t, scan), h.Missing...)
	return &snapshot{totals: t, history: h, scan: scan, daily: daily, mismatches: ms, spool: f.Name(), rejected: rejected,
		taken: time.Now(), took: time.Since(start)}, nil
}

// maxRejected bounds the rejected charges a snapshot keeps in memory.
const maxRejected = 100_000

// current returns the snapshot to serve, or why there is none.
func (s *Server) current() (snap *snapshot, failure, lastErr error, progress string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap, s.failure, s.lastErr, s.progress
}

// openSpool opens the current snapshot's grant file (under the lock, so
// that the file is not removed before it is open).
func (s *Server) openSpool(snap *snapshot) (*os.File, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return os.Open(snap.spool)
}

// Handler serves the explorer.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /{$}", s.withSnapshot(s.summary))
	mux.HandleFunc("GET /provider/{id}", s.withSnapshot(s.provider))
	mux.HandleFunc("GET /grants", s.withSnapshot(s.grants))
	mux.HandleFunc("GET /grants.csv", s.withSnapshot(s.grantsCSV))
	mux.HandleFunc("GET /history", s.withSnapshot(s.historyPage))
	mux.HandleFunc("GET /person/{id}", s.withSnapshot(s.person))
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("POST /refresh", s.refreshNow)
	return securityHeaders(mux)
}

// securityHeaders keeps the pages self-contained: nothing is loaded from
// elsewhere.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

type snapHandler func(w http.ResponseWriter, r *http.Request, snap *snapshot)

// withSnapshot serves h from the current snapshot, the failure page if a
// node failed verification, or a wait page before the first snapshot.
func (s *Server) withSnapshot(h snapHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, failure, lastErr, progress := s.current()
		switch {
		case failure != nil:
			s.failurePage(w, failure)
		case snap == nil && lastErr != nil:
			s.render(w, http.StatusServiceUnavailable, "wait", &view{Title: "Not available", Data: waitData{Err: lastErr.Error()}})
		case snap == nil:
			s.render(w, http.StatusServiceUnavailable, "wait", &view{Title: "Verifying", AutoRefresh: true, Data: waitData{Progress: progress}})
		default:
			h(w, r, snap)
		}
	}
}

func (s *Server) refreshNow(w http.ResponseWriter, r *http.Request) {
	s.RequestSnapshot()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// errUntrusted marks an error page about a node that failed verification.
var errUntrusted = errors.New("web: node failed verification")
