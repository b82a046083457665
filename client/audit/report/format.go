package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

// CSVHeader is the header row of a grant export.
var CSVHeader = []string{"program", "provider", "charge_ref", "mykey_id", "amount_yen", "granted_yen", "charged_at", "recorded_at", "height"}

// GrantWriter writes grants as CSV or JSON lines.
type GrantWriter interface {
	Write(g *Grant) error
	// Flush writes out what is buffered.
	Flush() error
}

// Formats of an export.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// NewGrantWriter returns a writer of format (FormatCSV writes the header
// row at once).
func NewGrantWriter(w io.Writer, format string) (GrantWriter, error) {
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return nil, err
		}
		return &csvWriter{w: cw, row: make([]string, len(CSVHeader))}, nil
	case FormatJSONL, "json":
		bw := bufio.NewWriterSize(w, 64<<10)
		return &jsonlWriter{w: bw, enc: json.NewEncoder(bw)}, nil
	}
	return nil, fmt.Errorf("report: unknown export format %q (csv or jsonl)", format)
}

// Timestamp formats a Unix time as RFC 3339 UTC.
func Timestamp(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

type csvWriter struct {
	w   *csv.Writer
	row []string
}

func (c *csvWriter) Write(g *Grant) error {
	r := c.row
	r[0], r[1], r[2], r[3] = g.ProgramId, g.ProviderId, g.ChargeRef, g.MykeyId
	r[4], r[5] = strconv.FormatInt(g.AmountYen, 10), strconv.FormatInt(g.GrantedYen, 10)
	r[6], r[7], r[8] = Timestamp(g.ChargedAt), Timestamp(g.Time), strconv.FormatInt(g.Height, 10)
	return c.w.Write(r)
}

func (c *csvWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// GrantJSON is a grant as a JSON line.
type GrantJSON struct {
	Program    string `json:"program"`
	Provider   string `json:"provider"`
	ChargeRef  string `json:"charge_ref"`
	MyKeyID    string `json:"mykey_id"`
	AmountYen  int64  `json:"amount_yen"`
	GrantedYen int64  `json:"granted_yen"`
	ChargedAt  string `json:"charged_at"`
	RecordedAt string `json:"recorded_at"`
	Height     int64  `json:"height"`
	// Rejected is the reason of a rejected charge (omitted for a grant).
	Rejected string `json:"rejected,omitempty"`
}

// JSON returns g as a GrantJSON.
func (g *Grant) JSON() GrantJSON {
	return GrantJSON{Program: g.ProgramId, Provider: g.ProviderId, ChargeRef: g.ChargeRef, MyKeyID: g.MykeyId,
		AmountYen: g.AmountYen, GrantedYen: g.GrantedYen, ChargedAt: Timestamp(g.ChargedAt), RecordedAt: Timestamp(g.Time), Height: g.Height,
		Rejected: g.Reason()}
}

type jsonlWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func (j *jsonlWriter) Write(g *Grant) error { return j.enc.Encode(g.JSON()) }
func (j *jsonlWriter) Flush() error         { return j.w.Flush() }

// Yen formats an amount with thousands separators: 1234567 → "1,234,567".
func Yen(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// JST is Japan Standard Time, the programs' time zone (no daylight saving).
var JST = time.FixedZone("JST", 9*60*60)

// Day is the date of a Unix time in JST, "2006-01-02".
func Day(unix int64) string { return time.Unix(unix, 0).In(JST).Format("2006-01-02") }

// ParseCSVRow reads back a row a CSV GrantWriter wrote.
func ParseCSVRow(row []string) (*Grant, error) {
	if len(row) != len(CSVHeader) {
		return nil, fmt.Errorf("report: CSV row of %d fields, want %d", len(row), len(CSVHeader))
	}
	g := &Grant{}
	g.ProgramId, g.ProviderId, g.ChargeRef, g.MykeyId = row[0], row[1], row[2], row[3]
	var err error
	num := func(s string) int64 {
		n, e := strconv.ParseInt(s, 10, 64)
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	ts := func(s string) int64 {
		t, e := time.Parse(time.RFC3339, s)
		if e != nil && err == nil {
			err = e
		}
		return t.Unix()
	}
	g.AmountYen, g.GrantedYen, g.Height = num(row[4]), num(row[5]), num(row[8])
	g.ChargedAt, g.Time = ts(row[6]), ts(row[7])
	g.Key = types.PrefixCharge + g.ProgramId + "/" + g.ProviderId + "/" + g.ChargeRef
	if err != nil {
		return nil, fmt.Errorf("report: CSV row %v: %w", row, err)
	}
	return g, nil
}
