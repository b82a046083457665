package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// grantQuery is the grant list's search form.
type grantQuery struct {
	Q, Program, Provider, Since, Until string
	Offset                             int
}

// pageSize is the grant list's rows per page.
const pageSize = 100

type grantsData struct {
	Q          grantQuery
	Err        string
	Rows       []*report.Grant
	Matches    int64
	MatchedYen int64
	Total      int64
	From, To   int
	Prev, Next string
	Programs   []*report.ProgramView
	Providers  []*types.Provider
}

func parseGrantQuery(r *http.Request) (grantQuery, report.Filter, error) {
	v := r.URL.Query()
	q := grantQuery{Q: strings.TrimSpace(v.Get("q")), Program: v.Get("program"), Provider: v.Get("provider"),
		Since: v.Get("since"), Until: v.Get("until")}
	q.Offset, _ = strconv.Atoi(v.Get("offset"))
	if q.Offset < 0 {
		q.Offset = 0
	}
	f := report.Filter{Query: q.Q, Program: q.Program, Provider: q.Provider}
	var err error
	if f.Since, err = parseDate(q.Since); err != nil {
		return q, f, err
	}
	if f.Until, err = parseDate(q.Until); err != nil {
		return q, f, err
	}
	if f.Until != 0 && q.Until != "" && !strings.Contains(q.Until, "T") {
		f.Until += 24 * 60 * 60 // a date "until" includes that day
	}
	return q, f, nil
}

// parseDate reads YYYY-MM-DD (JST) or RFC 3339; "" is 0.
func parseDate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, report.JST); err == nil {
		return t.Unix(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("web: %q is not a date (YYYY-MM-DD)", s)
	}
	return t.Unix(), nil
}

func (q grantQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Q, "program": q.Program, "provider": q.Provider, "since": q.Since, "until": q.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Filtered reports whether the query selects less than every grant.
func (q grantQuery) Filtered() bool { return len(q.values()) > 0 }

// CSV is the download link of the query's grants.
func (q grantQuery) CSV() string {
	if e := q.values().Encode(); e != "" {
		return "/grants.csv?" + e
	}
	return "/grants.csv"
}

func (q grantQuery) page(offset int) string {
	v := q.values()
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	return "/grants?" + v.Encode()
}

func (s *Server) grants(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	q, f, err := parseGrantQuery(r)
	d := grantsData{Q: q, Total: snap.scan.Kept, Programs: snap.totals.Programs, Providers: snap.totals.Providers}
	if err != nil {
		d.Err = err.Error()
		s.render(w, http.StatusBadRequest, "grants", s.pageView("Grants", snap, d))
		return
	}
	err = s.eachGrant(snap, f, func(g *report.Grant) error {
		if d.Matches >= int64(q.Offset) && len(d.Rows) < pageSize {
			d.Rows = append(d.Rows, g)
		}
		d.Matches++
		d.MatchedYen += g.GrantedYen
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	d.From, d.To = q.Offset+1, q.Offset+len(d.Rows)
	if q.Offset > 0 {
		d.Prev = q.page(max(0, q.Offset-pageSize))
	}
	if int64(q.Offset+pageSize) < d.Matches {
		d.Next = q.page(q.Offset + pageSize)
	}
	s.render(w, http.StatusOK, "grants", s.pageView("Grants", snap, d))
}

// eachGrant streams the snapshot's grants that pass f.
func (s *Server) eachGrant(snap *snapshot, f report.Filter, fn func(*report.Grant) error) error {
	file, err := s.openSpool(snap)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	defer file.Close()
	cr := csv.NewReader(file)
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return fmt.Errorf("web: spool header: %w", err)
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("web: spool: %w", err)
		}
		g, err := report.ParseCSVRow(row)
		if err != nil {
			return err
		}
		if f.Match(&g.GrantRecord) {
			if err := fn(g); err != nil {
				return err
			}
		}
	}
}

// grantsCSV downloads the grants of the query: with no filter, the
// snapshot's file as it is (what `mykey audit export` writes).
func (s *Server) grantsCSV(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	q, f, err := parseGrantQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := fmt.Sprintf("grants-%s-h%d.csv", s.src.ChainID(), snap.totals.Height)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("X-Mykey-Height", strconv.FormatInt(snap.totals.Height, 10))
	if !q.Filtered() {
		file, err := s.openSpool(snap)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer file.Close()
		io.Copy(w, file)
		return
	}
	gw, err := report.NewGrantWriter(w, report.FormatCSV)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := s.eachGrant(snap, f, gw.Write); err != nil {
		s.logf("explorer: CSV download: %v", err)
	}
	gw.Flush()
}
