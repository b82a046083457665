// Package web is the auditor's explorer, `mykey audit serve`: a small
// Go-served site (html/template, CSS, JS and SVG charts embedded; no CDN,
// no web font) readable on a phone.
//
// The explorer works from snapshots. A snapshot is the totals read at one
// height H0, the history, and every grant recorded by H0, each page proved
// against its block header and the whole reconciled against the state
// root of H0 (package report). The grants are spooled to a temporary CSV
// file (the very bytes `mykey audit export` writes), so memory stays
// bounded: the grant list and its search stream the file, and the charts
// come from per-day sums. A new snapshot is taken on a timer or on
// request; pages are served from the last complete one, and each page
// says the height its figures are proved at. A person's page is read live.
//
// If a node gives data that fails verification, the explorer stops
// serving figures: every page is an error page (HTTP 502) naming the node.
package web
