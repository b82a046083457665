// Package chargecsv reads a provider's day of charges from CSV, for
// `mykey grant import`.
//
// The first line that is not a comment is the header; columns are found by
// name, in any order:
//
//	program_id,mykey_id,charge_ref,amount_yen,charged_at
//	mynapoint,0A1B2C3D,pp-20250901-000001,1200,2025-09-01T10:00:00+09:00
//
// program_id may be left out when a default program is given. charged_at
// is RFC 3339 or Unix seconds. Lines starting with # are comments; blank
// lines are skipped. Every row is checked as the ledger will check it
// (IDs, the MyKey ID's shape, a charge reference of 1-64 printable
// characters, the amount) and a charge reference may appear only once per
// program in a file. A bad row is reported with its line number and the
// problem; Parse reads the whole file so that all of them are reported at
// once.
package chargecsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/txbuild"
)

// Columns of the CSV header.
const (
	ColProgram   = "program_id"
	ColMyKey     = "mykey_id"
	ColChargeRef = "charge_ref"
	ColAmount    = "amount_yen"
	ColChargedAt = "charged_at"
)

// Row is one good row.
type Row struct {
	Line   int
	Charge *types.Charge
}

// BadRow is a row that cannot be sent, and why.
type BadRow struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

func (b BadRow) String() string { return fmt.Sprintf("line %d: %s", b.Line, b.Err) }

// File is a parsed charges file.
type File struct {
	Rows []Row
	Bad  []BadRow
}

// Options configure Parse.
type Options struct {
	// DefaultProgram is the program of rows when the file has no
	// program_id column.
	DefaultProgram string
}

// Parse reads charges from r. It returns an error only if the file as a
// whole cannot be read (no header, a missing column); bad rows are in
// File.Bad.
func Parse(r io.Reader, opts Options) (*File, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("chargecsv: the file is empty: it needs a header line " + strings.Join(allColumns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("chargecsv: reading the header: %w", err)
	}
	cols, err := columns(header, opts.DefaultProgram)
	if err != nil {
		return nil, err
	}
	f := &File{}
	seen := map[string]int{} // program + "\x00" + ref → line
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			f.Bad = append(f.Bad, BadRow{Line: pe.Line, Err: pe.Err.Error()})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("chargecsv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			f.Bad = append(f.Bad, BadRow{Line: line, Err: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))})
			continue
		}
		ch, err := cols.charge(rec, opts.DefaultProgram)
		if err != nil {
			f.Bad = append(f.Bad, BadRow{Line: line, Err: err.Error()})
			continue
		}
		k := ch.ProgramId + "\x00" + ch.ChargeRef
		if first, dup := seen[k]; dup {
			f.Bad = append(f.Bad, BadRow{Line: line, Err: fmt.Sprintf("charge_ref %q repeats line %d", ch.ChargeRef, first)})
			continue
		}
		seen[k] = line
		f.Rows = append(f.Rows, Row{Line: line, Charge: ch})
	}
	return f, nil
}

var allColumns = []string{ColProgram, ColMyKey, ColChargeRef, ColAmount, ColChargedAt}

// cols holds each column's index (-1: absent).
type cols struct{ program, mykey, ref, amount, at int }

func columns(header []string, defaultProgram string) (cols, error) {
	c := cols{-1, -1, -1, -1, -1}
	idx := map[string]*int{ColProgram: &c.program, ColMyKey: &c.mykey, ColChargeRef: &c.ref, ColAmount: &c.amount, ColChargedAt: &c.at}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		p, ok := idx[name]
		if !ok {
			return c, fmt.Errorf("chargecsv: unknown column %q in the header; the columns are %s", h, strings.Join(allColumns, ","))
		}
		if *p >= 0 {
			return c, fmt.Errorf("chargecsv: column %q appears twice in the header", name)
		}
		*p = i
	}
	var missing []string
	for _, name := range allColumns {
		if *idx[name] < 0 && !(name == ColProgram && defaultProgram != "") {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		hint := ""
		if len(missing) == 1 && missing[0] == ColProgram {
			hint = " (or give the program with --program)"
		}
		return c, fmt.Errorf("chargecsv: the header lacks %s%s; the first line must name the columns %s",
			strings.Join(missing, ", "), hint, strings.Join(allColumns, ","))
	}
	return c, nil
}

func (c cols) charge(rec []string, defaultProgram string) (*types.Charge, error) {
	get := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	program := get(c.program)
	if program == "" {
		program = defaultProgram
	}
	if !txbuild.ValidID(program) {
		return nil, fmt.Errorf("program_id %q: 1-%d characters of A-Z a-z 0-9 . _ -", program, types.MaxIDLen)
	}
	mykey := strings.ToUpper(get(c.mykey))
	if !txbuild.ValidMyKeyID(mykey) {
		return nil, fmt.Errorf("mykey_id %q: a MyKey ID is %d characters of 0-9 and A-Z without I, L, O, U", get(c.mykey), types.MyKeyIDLen)
	}
	ref := get(c.ref)
	if !txbuild.ValidChargeRef(ref) {
		return nil, fmt.Errorf("charge_ref %q: 1-%d printable ASCII characters", ref, types.MaxChargeRefLen)
	}
	amount, err := strconv.ParseInt(get(c.amount), 10, 64)
	if err != nil || amount < 0 || amount > types.MaxAmountYen {
		return nil, fmt.Errorf("amount_yen %q: whole yen, 0 to %d, without separators", get(c.amount), int64(types.MaxAmountYen))
	}
	at, err := ParseTime(get(c.at))
	if err != nil {
		return nil, fmt.Errorf("charged_at: %v", err)
	}
	return &types.Charge{ProgramId: program, MykeyId: mykey, ChargeRef: ref, AmountYen: amount, ChargedAt: at}, nil
}

// ParseTime reads a charge time: RFC 3339, or Unix seconds.
func ParseTime(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%q: Unix seconds must be positive", s)
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither RFC 3339 (2025-09-01T10:00:00+09:00) nor Unix seconds", s)
	}
	if t.Unix() <= 0 {
		return 0, fmt.Errorf("%q is before 1970", s)
	}
	return t.Unix(), nil
}
