package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/report"
)

type summaryData struct {
	T          *report.Totals
	RootSum    int64
	Agree      bool
	Grants     int64
	Linked     int64
	Chart      template.HTML
	Legend     template.HTML
	Mismatches []report.Mismatch
	Checks     int
	History    map[string]int
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	t := snap.totals
	d := summaryData{T: t, RootSum: int64(t.RootSum), Mismatches: snap.mismatches, History: map[string]int{}}
	d.Agree = t.RootSum == uint64(t.GrantedYen()) && t.RootSum == uint64(t.DailyYen())
	for _, p := range t.Programs {
		d.Grants += p.Totals.Grants
		d.Linked += p.Totals.Linked
	}
	for _, it := range snap.history.Items {
		d.History[it.Kind]++
	}
	days := snap.daily.Days()
	var ss []series
	for i, p := range snap.daily.Providers() {
		ss = append(ss, series{Name: p, Colour: colour(i), Values: snap.daily.Series(p, days)})
	}
	d.Chart = stackedChart("chart-all", "Yen granted per day, by provider", days, ss)
	d.Legend = legend(ss)
	s.render(w, http.StatusOK, "summary", s.pageView("Summary", snap, d))
}

type providerData struct {
	P          *types.Provider
	Rows       []*report.ProviderView
	Chart      template.HTML
	Days       []dayRow
	OverGrants []*report.OverGrantView
	History    []*report.HistoryItem
}

type dayRow struct {
	Day string
	report.Sum
}

func (s *Server) provider(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	id := r.PathValue("id")
	t := snap.totals
	p := t.Provider(id)
	if p == nil {
		s.render(w, http.StatusNotFound, "notfound", &view{Title: "Not found", Proof: s.proof(t.Height, snap),
			Data: fmt.Sprintf("No provider %q at height %d.", id, t.Height)})
		return
	}
	d := providerData{P: p}
	for _, prog := range t.Programs {
		if v := t.ProviderIn(prog.ID, id); v != nil {
			d.Rows = append(d.Rows, v)
		}
	}
	days := snap.daily.Days()
	values := snap.daily.Series(id, days)
	ci := 0
	for i, name := range snap.daily.Providers() {
		if name == id {
			ci = i
		}
	}
	d.Chart = stackedChart("chart-provider", "Yen granted per day by "+id, days, []series{{Name: id, Colour: colour(ci), Values: values}})
	for i := len(days) - 1; i >= 0; i-- {
		if values[i].Grants > 0 {
			d.Days = append(d.Days, dayRow{Day: days[i], Sum: values[i]})
		}
	}
	for _, og := range t.OverGrants {
		if og.ProviderId == id {
			d.OverGrants = append(d.OverGrants, og)
		}
	}
	for _, it := range snap.history.Items {
		if it.Provider == id || strings.Contains(it.Summary, `"`+id+`"`) {
			d.History = append(d.History, it)
		}
	}
	s.render(w, http.StatusOK, "provider", s.pageView("Provider "+id, snap, d))
}

type historyData struct {
	Kind  string
	Kinds []string
	Items []*report.HistoryItem
	Later int
}

var kinds = []string{report.KindCorrection, report.KindSuccession, report.KindRevocation, report.KindSettlement,
	report.KindProvider, report.KindProgram, report.KindAttestation}

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	d := historyData{Kind: r.URL.Query().Get("kind"), Kinds: kinds, Later: snap.history.Later}
	for i := len(snap.history.Items) - 1; i >= 0; i-- {
		it := snap.history.Items[i]
		if d.Kind == "" || it.Kind == d.Kind {
			d.Items = append(d.Items, it)
		}
	}
	s.render(w, http.StatusOK, "history", s.pageView("History", snap, d))
}

type personData struct {
	P      *report.PersonReport
	Height int64
	// Caps are the programs' caps (by program ID), for what is left of
	// each.
	Caps map[string]int64
}

// CapLeft is what is left of the cap of pp's program.
func (d personData) CapLeft(pp *report.PersonProgram) int64 {
	return d.Caps[pp.Program] - (pp.Totals.GrantedYen - pp.Totals.RecoveredYen)
}

// person shows a person's public record: linkage and its history, totals
// against the cap, over-grants, government actions. No charge.
func (s *Server) person(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	id := strings.ToUpper(r.PathValue("id"))
	p, err := report.Person(r.Context(), s.src, snap.totals, snap.history, id, false)
	if err != nil {
		s.serveError(w, err)
		return
	}
	d := personData{P: p, Height: p.Height, Caps: map[string]int64{}}
	for _, pv := range snap.totals.Programs {
		if pv.Program != nil {
			d.Caps[pv.ID] = pv.Program.CapYen
		}
	}
	v := s.pageView("MyKey ID "+id, snap, d)
	v.Proof = s.proof(p.Height, nil)
	s.render(w, http.StatusOK, "person", v)
}

// mykeyRE is the shape of a MyKey ID (Crockford base32, 8 characters).
var mykeyRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{8}$`)

// search sends a MyKey ID to its page and anything else to the grant list.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if up := strings.ToUpper(q); mykeyRE.MatchString(up) {
		http.Redirect(w, r, "/person/"+up, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/grants?"+url.Values{"q": {q}}.Encode(), http.StatusSeeOther)
}
