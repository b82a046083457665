package web

import (
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
	// SpoolDir is unused: the public snapshot holds no grant file. Kept
	// so that callers need not change.
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
	failure  error // a node failed verification: serve nothing else
	lastErr  error // the last snapshot failed for another reason
	building bool
	progress string
}

// snapshot is one verified view of the public ledger: the totals and the
// daily records of one height, and the history.
type snapshot struct {
	totals     *report.Totals
	history    *report.History
	daily      *report.Daily
	mismatches []report.Mismatch
	taken      time.Time
	took       time.Duration
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
	s.snap, s.lastErr = snap, nil
	s.logf("explorer: snapshot at height %d: %d daily records, %d mismatches (%s)", snap.totals.Height, len(snap.totals.Days), len(snap.mismatches), snap.took.Round(time.Millisecond))
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
	s.snap = nil
}

func (s *Server) setProgress(format string, args ...any) {
	s.mu.Lock()
	s.progress = fmt.Sprintf(format, args...)
	s.mu.Unlock()
}

func (s *Server) build(ctx context.Context) (*snapshot, error) {
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
	ms := append(report.Reconcile(t, nil), h.Missing...)
	return &snapshot{totals: t, history: h, daily: report.DailyOf(t, ""), mismatches: ms,
		taken: time.Now(), took: time.Since(start)}, nil
}

// current returns the snapshot to serve, or why there is none.
func (s *Server) current() (snap *snapshot, failure, lastErr error, progress string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap, s.failure, s.lastErr, s.progress
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
