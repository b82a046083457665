package audit_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/audit/report"
)

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// csvTotals counts the rows of a CSV export and adds up granted_yen.
func csvTotals(t *testing.T, s string) (rows, yen int64) {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(s))
	all, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	if len(all) == 0 || strings.Join(all[0], ",") != strings.Join(report.CSVHeader, ",") {
		t.Fatalf("CSV header %v", all[:min(1, len(all))])
	}
	for _, row := range all[1:] {
		y, err := strconv.ParseInt(row[5], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		rows++
		yen += y
	}
	return rows, yen
}

// TestExport is the charge export (--charges) through the node's full
// RPC, for government auditors.
func TestExport(t *testing.T) {
	f := sharedFixture(t)
	r := runAudit(t, append([]string{"export", "--charges"}, f.honest()...)...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	if rows, yen := csvTotals(t, r.stdout); rows != f.totalGrants || yen != f.totalYen {
		t.Errorf("CSV: %d rows, %d yen; want %d, %d", rows, yen, f.totalGrants, f.totalYen)
	}
	if !strings.Contains(r.stderr, "its sum matches the total the state root commits to") {
		t.Errorf("stderr does not say the export is complete:\n%s", r.stderr)
	}
	// The rejected charge on the ledger is no grant: not in the export,
	// but said to be left out.
	if strings.Contains(r.stdout, f.rejected) || !strings.Contains(r.stderr, "1 rejected charges not counted") {
		t.Errorf("the rejected charge %s: in the export, or not said to be left out:\n%s", f.rejected, r.stderr)
	}
	full := r.stdout

	t.Run("jsonl", func(t *testing.T) {
		r := runAudit(t, append([]string{"export", "--charges", "--format", "jsonl"}, f.honest()...)...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		var rows, yen int64
		sc := bufio.NewScanner(strings.NewReader(r.stdout))
		for sc.Scan() {
			var g report.GrantJSON
			if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
				t.Fatalf("line %d: %v", rows+1, err)
			}
			rows++
			yen += g.GrantedYen
		}
		if rows != f.totalGrants || yen != f.totalYen {
			t.Errorf("%d lines, %d yen", rows, yen)
		}
	})
	t.Run("provider", func(t *testing.T) {
		r := runAudit(t, append([]string{"export", "--charges", "--provider", "paypay"}, f.honest()...)...)
		want := f.grants[pair{"spring", "paypay"}] + f.grants[pair{"mynapoint", "paypay"}]
		if rows, _ := csvTotals(t, r.stdout); r.err != nil || rows != want {
			t.Errorf("%v: %d rows, want %d", r.err, rows, want)
		}
	})
	t.Run("program and provider", func(t *testing.T) {
		r := runAudit(t, append([]string{"export", "--charges", "--program", "spring", "--provider", "linepay"}, f.honest()...)...)
		k := pair{"spring", "linepay"}
		if rows, yen := csvTotals(t, r.stdout); r.err != nil || rows != f.grants[k] || yen != f.granted[k] {
			t.Errorf("%v: %d rows %d yen, want %d %d", r.err, rows, yen, f.grants[k], f.granted[k])
		}
	})
	t.Run("time range", func(t *testing.T) {
		tomorrow := time.Now().Add(24 * time.Hour).In(report.JST).Format("2006-01-02")
		r := runAudit(t, append([]string{"export", "--charges", "--since", tomorrow}, f.honest()...)...)
		if rows, _ := csvTotals(t, r.stdout); r.err != nil || rows != 0 {
			t.Errorf("since tomorrow: %v, %d rows", r.err, rows)
		}
		r = runAudit(t, append([]string{"export", "--charges", "--until", tomorrow}, f.honest()...)...)
		if rows, _ := csvTotals(t, r.stdout); r.err != nil || rows != f.totalGrants {
			t.Errorf("until tomorrow: %v, %d rows", r.err, rows)
		}
	})
	t.Run("output file", func(t *testing.T) {
		out := t.TempDir() + "/grants.csv"
		r := runAudit(t, append([]string{"export", "--charges", "--output", out}, f.honest()...)...)
		bz, err := os.ReadFile(out)
		if r.err != nil || err != nil || string(bz) != full {
			t.Errorf("%v %v: file differs from stdout", r.err, err)
		}
	})
	t.Run("unknown program", func(t *testing.T) {
		if r := runAudit(t, append([]string{"export", "--program", "nosuch"}, f.honest()...)...); r.code() != audit.ExitNotFound {
			t.Errorf("exit %d: %v", r.code(), r.err)
		}
	})
}

func TestHistoryAndPerson(t *testing.T) {
	f := sharedFixture(t)
	var h audit.HistoryJSON
	r := auditJSON(t, &h, append([]string{"history"}, f.honest()...)...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	kinds := map[string]int{}
	for _, it := range h.Items {
		kinds[it.Kind]++
	}
	want := map[string]int{"provider": 5, "program": 1, "settlement": 2, "correction": 2, "succession": 1, "revocation": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s entries, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	// Revocations and successions name certificates only by their index
	// on the ledger, and say why and (a succession) which MyKey ID.
	for _, it := range h.Items {
		certs := map[string]int{"revocation": 1, "succession": 2}[it.Kind]
		if len(it.Certificates) != certs {
			t.Errorf("%s entry names %d certificates, want %d: %+v", it.Kind, len(it.Certificates), certs, it)
		}
		for _, c := range it.Certificates {
			if len(c) != 64 {
				t.Errorf("%s entry: certificate index %q", it.Kind, c)
			}
		}
		if it.Kind == "succession" && (it.Reference != "certificate renewed" || !strings.Contains(it.Summary, f.winner)) {
			t.Errorf("succession entry: %+v", it)
		}
	}
	r = auditJSON(t, &h, append([]string{"history", "--kind", "correction,succession"}, f.honest()...)...)
	if r.err != nil || len(h.Items) != 3 {
		t.Errorf("corrections and successions: %v, %d items", r.err, len(h.Items))
	}

	t.Run("merged winner", func(t *testing.T) {
		var p audit.PersonJSON
		r := auditJSON(t, &p, append([]string{"person", f.winner, "--charges"}, f.honest()...)...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(p.MergedFrom) != 1 || p.MergedFrom[0] != f.loser || len(p.Programs) != 1 {
			t.Fatalf("merged from %v, programs %d", p.MergedFrom, len(p.Programs))
		}
		pp := p.Programs[0]
		var sum int64
		for _, g := range pp.Grants {
			sum += g.GrantedYen
		}
		over := f.recovered[pair{"spring", "linepay"}]
		if pp.LinkStatus != "active" || pp.Provider != "paypay" || len(pp.Grants) != 10 || sum != pp.GrantedYen ||
			pp.RecoveredYen != over || len(pp.OverGrants) != 1 || pp.OverGrants[0].AmountYen != over {
			t.Errorf("%+v", pp)
		}
		if len(p.History) != 1 || p.History[0].Kind != "succession" {
			t.Errorf("history %+v", p.History)
		}
	})
	t.Run("merged away", func(t *testing.T) {
		var p audit.PersonJSON
		r := auditJSON(t, &p, append([]string{"person", f.loser}, f.honest()...)...)
		if r.err != nil || p.MergedInto != f.winner || p.Programs[0].LinkStatus != "voided" {
			t.Fatalf("%v: %+v", r.err, p)
		}
	})
	t.Run("moved by a correction", func(t *testing.T) {
		var p audit.PersonJSON
		r := auditJSON(t, &p, append([]string{"person", f.moved, "--charges"}, f.honest()...)...)
		if r.err != nil || p.Programs[0].Provider != "rakutenpay" {
			t.Fatalf("%v: %+v", r.err, p)
		}
		var kinds []string
		for _, e := range p.Programs[0].Events {
			kinds = append(kinds, e.Kind)
		}
		if got := strings.Join(kinds, ","); got != "linked,moved_from,moved_to" {
			t.Errorf("events %s", got)
		}
		if len(p.Programs[0].Grants) != 10 || len(p.History) != 1 || p.History[0].Kind != "correction" {
			t.Errorf("grants %d, history %+v", len(p.Programs[0].Grants), p.History)
		}
	})
	t.Run("rejected charge listed as rejected", func(t *testing.T) {
		var p audit.PersonJSON
		id := f.spring["paypay"][0]
		r := auditJSON(t, &p, append([]string{"person", id, "--charges"}, f.honest()...)...)
		var pp *audit.PersonProgramJSON
		for i := range p.Programs {
			if p.Programs[i].Program == "spring" {
				pp = &p.Programs[i]
			}
		}
		if r.err != nil || pp == nil {
			t.Fatalf("%v: %+v", r.err, p)
		}
		var grants, rejected int
		var sum int64
		for _, g := range pp.Grants {
			sum += g.GrantedYen
			switch {
			case g.ChargeRef == f.rejected && g.Rejected == "zero_grant" && g.GrantedYen == 0:
				rejected++
			case g.Rejected == "":
				grants++
			default:
				t.Errorf("grant %+v", g)
			}
		}
		if grants != 11 || rejected != 1 || sum != pp.GrantedYen {
			t.Errorf("%d grants, %d rejected, %d yen (totals %d)", grants, rejected, sum, pp.GrantedYen)
		}
		r = runAudit(t, append([]string{"person", id, "--charges"}, f.honest()...)...)
		if r.err != nil || !strings.Contains(r.stdout, f.rejected) || !strings.Contains(r.stdout, "rejected: zero_grant") {
			t.Errorf("%v: the text report does not show the rejected charge:\n%s", r.err, r.stdout)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if r := runAudit(t, append([]string{"person", "ZZZZZZZZ"}, f.honest()...)...); r.code() != audit.ExitNotFound {
			t.Errorf("exit %d: %v", r.code(), r.err)
		}
	})
}
