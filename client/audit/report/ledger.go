package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// The public export: the day-level grant ledger and the person totals.
// Neither holds a charge's amount, time or reference (see doc.go).

// DayCSVHeader is the header row of the day ledger.
var DayCSVHeader = []string{"program", "provider", "day", "grants", "granted_yen"}

// PersonCSVHeader is the header row of the person totals.
var PersonCSVHeader = []string{"program", "mykey_id", "provider", "link_status", "granted_yen", "recovered_yen", "cap_left_yen", "attested"}

// DayJSON is a daily record as a JSON line.
type DayJSON struct {
	Record     string `json:"record"` // "day"
	Program    string `json:"program"`
	Provider   string `json:"provider"`
	Day        string `json:"day"`
	Grants     int64  `json:"grants"`
	GrantedYen int64  `json:"granted_yen"`
}

// JSON returns d as a DayJSON.
func (d *DayView) JSON() DayJSON {
	return DayJSON{Record: "day", Program: d.Program, Provider: d.Provider, Day: d.Day, Grants: d.Grants, GrantedYen: d.GrantedYen}
}

// PersonRowJSON is a person's totals as a JSON line.
type PersonRowJSON struct {
	Record       string `json:"record"` // "person"
	Program      string `json:"program"`
	MyKeyID      string `json:"mykey_id"`
	Provider     string `json:"provider"`
	LinkStatus   string `json:"link_status"`
	GrantedYen   int64  `json:"granted_yen"`
	RecoveredYen int64  `json:"recovered_yen"`
	CapLeftYen   int64  `json:"cap_left_yen"`
	Attested     bool   `json:"attested,omitempty"`
}

// JSON returns r as a PersonRowJSON.
func (r *PersonRow) JSON() PersonRowJSON {
	return PersonRowJSON{Record: "person", Program: r.Program, MyKeyID: r.MyKeyID, Provider: r.Provider, LinkStatus: r.LinkStatus,
		GrantedYen: r.GrantedYen, RecoveredYen: r.RecoveredYen, CapLeftYen: r.CapLeftYen, Attested: r.Attested}
}

// LedgerWriter writes daily records and person rows, as CSV (each kind a
// table with its header row, written where its first row is) or JSON
// lines (each line says its "record" kind).
type LedgerWriter struct {
	format                string
	days, persons         io.Writer
	dcsv, pcsv            *csv.Writer
	enc                   *json.Encoder
	daysOpen, personsOpen bool
}

// NewLedgerWriter writes days to days and person rows to persons (they
// may be the same writer: CSV then puts the person table after the day
// table, a blank line between).
func NewLedgerWriter(days, persons io.Writer, format string) (*LedgerWriter, error) {
	lw := &LedgerWriter{format: format, days: days, persons: persons}
	switch format {
	case FormatCSV:
		lw.dcsv, lw.pcsv = csv.NewWriter(days), csv.NewWriter(persons)
	case FormatJSONL, "json":
		lw.format = FormatJSONL
	default:
		return nil, fmt.Errorf("report: unknown export format %q (csv or jsonl)", format)
	}
	return lw, nil
}

// StartDays writes the day table's header row (CSV), if not yet written.
func (lw *LedgerWriter) StartDays() error {
	if lw.format == FormatJSONL || lw.daysOpen {
		return nil
	}
	lw.daysOpen = true
	return lw.dcsv.Write(DayCSVHeader)
}

// WriteDay writes one daily record.
func (lw *LedgerWriter) WriteDay(d *DayView) error {
	if lw.format == FormatJSONL {
		return json.NewEncoder(lw.days).Encode(d.JSON())
	}
	if err := lw.StartDays(); err != nil {
		return err
	}
	return lw.dcsv.Write([]string{d.Program, d.Provider, d.Day, strconv.FormatInt(d.Grants, 10), strconv.FormatInt(d.GrantedYen, 10)})
}

// StartPersons ends the day table and starts the person table (CSV);
// WritePerson calls it if need be.
func (lw *LedgerWriter) StartPersons() error {
	if lw.format == FormatJSONL || lw.personsOpen {
		return nil
	}
	if err := lw.StartDays(); err != nil {
		return err
	}
	lw.dcsv.Flush()
	if err := lw.dcsv.Error(); err != nil {
		return err
	}
	if lw.days == lw.persons {
		if _, err := io.WriteString(lw.persons, "\n"); err != nil {
			return err
		}
	}
	lw.personsOpen = true
	return lw.pcsv.Write(PersonCSVHeader)
}

// WritePerson writes one person row.
func (lw *LedgerWriter) WritePerson(r *PersonRow) error {
	if lw.format == FormatJSONL {
		return json.NewEncoder(lw.persons).Encode(r.JSON())
	}
	if !lw.personsOpen {
		if err := lw.StartPersons(); err != nil {
			return err
		}
	}
	return lw.pcsv.Write([]string{r.Program, r.MyKeyID, r.Provider, r.LinkStatus, strconv.FormatInt(r.GrantedYen, 10),
		strconv.FormatInt(r.RecoveredYen, 10), strconv.FormatInt(r.CapLeftYen, 10), strconv.FormatBool(r.Attested)})
}

// Flush writes out what is buffered.
func (lw *LedgerWriter) Flush() error {
	if lw.format == FormatJSONL {
		return nil
	}
	lw.dcsv.Flush()
	lw.pcsv.Flush()
	if err := lw.dcsv.Error(); err != nil {
		return err
	}
	return lw.pcsv.Error()
}
