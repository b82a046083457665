package report

import (
	"sort"
	"time"
)

// Daily adds grants up per provider and day (JST), for charts: from the
// daily records (the day a grant was recorded, DailyOf) or from grant
// records (the day of charge, Add). Its size grows with providers × days,
// not with grants.
type Daily struct {
	days map[string]bool
	by   map[string]map[string]*Sum // provider → day → sum
}

// NewDaily returns an empty Daily.
func NewDaily() *Daily {
	return &Daily{days: map[string]bool{}, by: map[string]map[string]*Sum{}}
}

// DailyOf adds up t's daily records of program ("": every program).
func DailyOf(t *Totals, program string) *Daily {
	d := NewDaily()
	for _, r := range t.Days {
		if program == "" || r.Program == program {
			d.AddSum(r.Provider, r.Day, Sum{Grants: r.Grants, Yen: r.GrantedYen})
		}
	}
	return d
}

// Add counts one grant on the day of its charge.
func (d *Daily) Add(g *Grant) {
	d.AddSum(g.ProviderId, Day(g.ChargedAt), Sum{Grants: 1, Yen: g.GrantedYen})
}

// AddSum counts grants of provider on day.
func (d *Daily) AddSum(provider, day string, add Sum) {
	d.days[day] = true
	m := d.by[provider]
	if m == nil {
		m = map[string]*Sum{}
		d.by[provider] = m
	}
	s := m[day]
	if s == nil {
		s = &Sum{}
		m[day] = s
	}
	s.Grants += add.Grants
	s.Yen += add.Yen
}

// maxChartDays bounds a chart's axis: the latest days are kept.
const maxChartDays = 366

// Days returns every day from the first to the last with a grant (at
// most the last maxChartDays), in order.
func (d *Daily) Days() []string {
	if len(d.days) == 0 {
		return nil
	}
	var seen []string
	for day := range d.days {
		seen = append(seen, day)
	}
	sort.Strings(seen)
	first, _ := time.ParseInLocation("2006-01-02", seen[0], JST)
	last, _ := time.ParseInLocation("2006-01-02", seen[len(seen)-1], JST)
	if last.Sub(first) > maxChartDays*24*time.Hour {
		first = last.AddDate(0, 0, -(maxChartDays - 1))
	}
	var out []string
	for t := first; !t.After(last); t = t.AddDate(0, 0, 1) {
		out = append(out, t.Format("2006-01-02"))
	}
	return out
}

// Providers returns the providers with grants, sorted.
func (d *Daily) Providers() []string {
	out := make([]string, 0, len(d.by))
	for p := range d.by {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Series returns provider's sums on days, in order (zero where none).
func (d *Daily) Series(provider string, days []string) []Sum {
	out := make([]Sum, len(days))
	m := d.by[provider]
	for i, day := range days {
		if s := m[day]; s != nil {
			out[i] = *s
		}
	}
	return out
}
