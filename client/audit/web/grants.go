package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/report"
)

// The grant list is the public grant ledger: grants per program, provider
// and day (the daily records). It lists no charge.

// grantQuery is the grant list's search form.
type grantQuery struct {
	Q, Program, Provider, Since, Until string
	Offset                             int
}

// pageSize is the grant list's rows per page.
const pageSize = 100

type grantsData struct {
	Q            grantQuery
	Err          string
	Rows         []*report.DayView
	Matches      int64
	MatchedYen   int64
	MatchedGrant int64
	Total        int
	From, To     int
	Prev, Next   string
	Programs     []*report.ProgramView
	Providers    []*types.Provider
}

// dayFilter selects daily records.
type dayFilter struct {
	Query, Program, Provider string
	// Since and Until bound the day's start (JST, Unix seconds):
	// Since <= start < Until; 0 leaves a side open.
	Since, Until int64
}

func (f dayFilter) match(d *report.DayView) bool {
	if f.Program != "" && d.Program != f.Program || f.Provider != "" && d.Provider != f.Provider {
		return false
	}
	if f.Since != 0 || f.Until != 0 {
		start, err := time.ParseInLocation(time.DateOnly, d.Day, report.JST)
		if err != nil || f.Since != 0 && start.Unix() < f.Since || f.Until != 0 && start.Unix() >= f.Until {
			return false
		}
	}
	if f.Query == "" {
		return true
	}
	q := strings.ToLower(f.Query)
	return strings.Contains(strings.ToLower(d.Program), q) || strings.Contains(strings.ToLower(d.Provider), q) || strings.Contains(d.Day, q)
}

func parseGrantQuery(r *http.Request) (grantQuery, dayFilter, error) {
	v := r.URL.Query()
	q := grantQuery{Q: strings.TrimSpace(v.Get("q")), Program: v.Get("program"), Provider: v.Get("provider"),
		Since: v.Get("since"), Until: v.Get("until")}
	q.Offset, _ = strconv.Atoi(v.Get("offset"))
	if q.Offset < 0 {
		q.Offset = 0
	}
	f := dayFilter{Query: q.Q, Program: q.Program, Provider: q.Provider}
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

// Filtered reports whether the query selects less than every day.
func (q grantQuery) Filtered() bool { return len(q.values()) > 0 }

// CSV is the download link of the query's days.
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
	d := grantsData{Q: q, Total: len(snap.totals.Days), Programs: snap.totals.Programs, Providers: snap.totals.Providers}
	if err != nil {
		d.Err = err.Error()
		s.render(w, http.StatusBadRequest, "grants", s.pageView("Grants", snap, d))
		return
	}
	// Latest day first.
	days := snap.totals.Days
	for i := len(days) - 1; i >= 0; i-- {
		day := days[i]
		if !f.match(day) {
			continue
		}
		if d.Matches >= int64(q.Offset) && len(d.Rows) < pageSize {
			d.Rows = append(d.Rows, day)
		}
		d.Matches++
		d.MatchedYen += day.GrantedYen
		d.MatchedGrant += day.Grants
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

// grantsCSV downloads the daily records of the query, in key order: with
// no filter, the day table `mykey audit export` writes.
func (s *Server) grantsCSV(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	_, f, err := parseGrantQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := fmt.Sprintf("grants-daily-%s-h%d.csv", s.src.ChainID(), snap.totals.Height)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("X-Mykey-Height", strconv.FormatInt(snap.totals.Height, 10))
	lw, err := report.NewLedgerWriter(w, w, report.FormatCSV)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := lw.StartDays(); err != nil {
		s.logf("explorer: CSV download: %v", err)
		return
	}
	for _, d := range snap.totals.Days {
		if f.match(d) {
			if err := lw.WriteDay(d); err != nil {
				s.logf("explorer: CSV download: %v", err)
				return
			}
		}
	}
	if err := lw.Flush(); err != nil {
		s.logf("explorer: CSV download: %v", err)
	}
}
