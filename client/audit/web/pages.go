package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/report"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// pages holds one parsed template set per page, each with the layout.
type pages struct{ t map[string]*template.Template }

var pageNames = []string{"summary", "provider", "grants", "history", "person", "wait", "failure", "notfound"}

var funcs = template.FuncMap{
	"yen":    report.Yen,
	"ts":     report.Timestamp,
	"day":    report.Day,
	"kind":   kindName,
	"status": func(s types.ProviderStatus) string { return s.Name() },
	"link":   types.LinkStatusOf,
	"pct":    func(bp int64) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) },
	"add":    func(a, b int) int { return a + b },
}

func kindName(k types.ProgramKind) string { return strings.ReplaceAll(k.Name(), "_", " ") }

func newPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title       string
	AutoRefresh bool
	Proof       *proofView
	Notice      string // e.g. the last refresh failed
	Data        any
}

// proofView says where a page's figures are proved.
type proofView struct {
	Height   int64
	Header   int64
	Verified bool
	Anchor   string
	Node     string
	ChainID  string
	Taken    string
	Took     string
}

func (s *Server) proof(height int64, snap *snapshot) *proofView {
	p := &proofView{Height: height, Header: height + 1, Verified: s.src.Verified(), Anchor: s.src.Anchor(), Node: s.src.Node(), ChainID: s.src.ChainID()}
	if snap != nil {
		p.Taken = snap.taken.UTC().Format(time.RFC3339)
		p.Took = snap.took.Round(time.Millisecond).String()
	}
	return p
}

func (s *Server) pageView(title string, snap *snapshot, data any) *view {
	v := &view{Title: title, Proof: s.proof(snap.totals.Height, snap), Data: data}
	_, _, lastErr, _ := s.current()
	if lastErr != nil {
		v.Notice = "The last refresh failed (" + lastErr.Error() + "); these figures are from the snapshot before."
	}
	return v
}

// render executes a page into a buffer first, so that a template error
// does not leave half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := s.pages.t[name].Execute(&buf, v); err != nil {
		http.Error(w, "web: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// failureData is the failure page's.
type failureData struct {
	Node   string
	Detail string
}

// waitData is the wait page's.
type waitData struct {
	Progress string
	Err      string
}

func (s *Server) failurePage(w http.ResponseWriter, err error) {
	node, ok := lightverify.Untrusted(err)
	if !ok {
		node = s.src.Node()
	}
	s.render(w, http.StatusBadGateway, "failure", &view{Title: "Verification failed", Data: failureData{Node: node, Detail: err.Error()}})
}

// serveError shows err: the failure page (and the explorer stops) if a
// node failed verification, else a plain error.
func (s *Server) serveError(w http.ResponseWriter, err error) {
	if _, ok := lightverify.Untrusted(err); ok {
		s.fail(err)
		s.failurePage(w, err)
		return
	}
	if errors.Is(err, report.ErrNotFound) {
		s.render(w, http.StatusNotFound, "notfound", &view{Title: "Not found", Data: err.Error()})
		return
	}
	http.Error(w, err.Error(), http.StatusBadGateway)
}
