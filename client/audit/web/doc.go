// Package web is the auditor's explorer, `mykey audit serve`: a small
// Go-served site (html/template, CSS, JS and SVG charts embedded; no CDN,
// no web font) readable on a phone.
//
// The explorer shows the public ledger only (package audit says why each
// part is public): it reads nothing a node's public endpoint does not
// serve, and shows no charge. It works from snapshots. A snapshot is the
// totals and the daily records read at one height H0, and the history,
// each page proved against its block header and the whole reconciled
// against the state root of H0 (package report). The grant list is the
// day ledger (grants and yen per program, provider and day in Japan), its
// CSV download the day table `mykey audit export` writes, and the charts
// come from the same daily records. A new snapshot is taken on a timer or
// on request; pages are served from the last complete one, and each page
// says the height its figures are proved at. A person's page, read live,
// shows the person's totals against the cap, the provider linked to and
// the linkage's history.
//
// If a node gives data that fails verification, the explorer stops
// serving figures: every page is an error page (HTTP 502) naming the node.
package web
