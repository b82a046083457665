package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/mykeyledger/mykey/client/audit/report"
)

// palette colours providers in charts, in the order of their IDs.
var palette = []string{"#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0e8a9c", "#cf5a00", "#6e7781", "#e85aad"}

func colour(i int) string { return palette[i%len(palette)] }

// series is one provider's bars.
type series struct {
	Name   string
	Colour string
	Values []report.Sum
}

// Chart geometry (SVG user units; the SVG scales to its container).
const (
	chartW, chartH = 720, 240
	padL, padR     = 64, 8
	padT, padB     = 10, 34
)

// stackedChart draws yen granted per day, one stacked bar per day and a
// colour per series, as inline SVG with a tooltip per bar segment.
func stackedChart(id, label string, days []string, ss []series) template.HTML {
	if len(days) == 0 {
		return template.HTML(`<p class="muted">No grants yet.</p>`)
	}
	var max int64
	for i := range days {
		var day int64
		for _, s := range ss {
			day += s.Values[i].Yen
		}
		if day > max {
			max = day
		}
	}
	if max == 0 {
		max = 1
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	bw := plotW / float64(len(days))
	gap := bw * 0.15
	if len(days) == 1 {
		gap = bw * 0.35
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(id), chartW, chartH, html.EscapeString(label))
	// Grid lines and y labels at 0, 1/2 and 1 of the maximum.
	for _, f := range []float64{0, 0.5, 1} {
		y := float64(padT) + plotH*(1-f)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">¥%s</text>`, padL-6, y+4, report.Yen(int64(f*float64(max))))
	}
	for i, day := range days {
		x := float64(padL) + float64(i)*bw + gap/2
		base := float64(padT) + plotH
		for _, s := range ss {
			v := s.Values[i]
			if v.Yen <= 0 {
				continue
			}
			h := plotH * float64(v.Yen) / float64(max)
			if h < 0.5 {
				h = 0.5
			}
			base -= h
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s %s: ¥%s in %d grants</title></rect>`,
				x, base, bw-gap, h, s.Colour, day, html.EscapeString(s.Name), report.Yen(v.Yen), v.Grants)
		}
	}
	// x labels: first, middle and last day.
	idx := []int{0}
	if len(days) > 2 {
		idx = append(idx, len(days)/2)
	}
	if len(days) > 1 {
		idx = append(idx, len(days)-1)
	}
	for k, i := range idx {
		anchor := "middle"
		switch {
		case k == 0 && len(idx) > 1:
			anchor = "start"
		case k == len(idx)-1 && len(idx) > 1:
			anchor = "end"
		}
		x := float64(padL) + (float64(i)+0.5)*bw
		if anchor == "start" {
			x = float64(padL)
		} else if anchor == "end" {
			x = float64(chartW - padR)
		}
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, chartH-padB+18, anchor, days[i])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// legend lists the series' colours.
func legend(ss []series) template.HTML {
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for _, s := range ss {
		fmt.Fprintf(&b, `<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="%s"/></svg>%s</li>`,
			s.Colour, html.EscapeString(s.Name))
	}
	b.WriteString(`</ul>`)
	return template.HTML(b.String())
}
