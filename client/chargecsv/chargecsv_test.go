package chargecsv

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		in      string
		rows    int
		bad     []BadRow
		wantErr string
	}{
		{name: "good, columns in any order, comments and blanks",
			in: "# exported 2025-09-01\ncharged_at,amount_yen,charge_ref,mykey_id,program_id\n" +
				"2025-09-01T10:00:00+09:00,1200,r1,0a1b2c3d,mynapoint\n\n1756688400,0,r2,0A1B2C3D,mynapoint\n",
			rows: 2},
		{name: "default program",
			opts: Options{DefaultProgram: "mynapoint"},
			in:   "mykey_id,charge_ref,amount_yen,charged_at\n0A1B2C3D,r1,1,1756688400\n", rows: 1},
		{name: "bad rows with their lines",
			in: "program_id,mykey_id,charge_ref,amount_yen,charged_at\n" +
				"p,0A1B2C3D,r1,1,1756688400\n" + // 2 good
				"p,0A1B2C3I,r2,1,1756688400\n" + // 3 I is not Crockford
				"p,0A1B2C3D,,1,1756688400\n" + // 4 empty ref
				"p,0A1B2C3D,r3,1.5,1756688400\n" + // 5 not whole yen
				"p,0A1B2C3D,r4,1,0\n" + // 6 time
				"p/q,0A1B2C3D,r5,1,1756688400\n" + // 7 program id
				"p,0A1B2C3D,r1,1,1756688400\n" + // 8 repeats line 2
				"p,0A1B2C3D,r6,1\n" + // 9 fields
				"p,0A1B2C3D,\"r7,1,1756688400\n", // 10 bare quote to the end
			rows: 1,
			bad: []BadRow{{3, "mykey_id"}, {4, "charge_ref"}, {5, "amount_yen"}, {6, "charged_at"},
				{7, "program_id"}, {8, "repeats line 2"}, {9, "4 fields"}, {10, "quote"}}},
		{name: "empty file", in: "", wantErr: "empty"},
		{name: "unknown column", in: "program_id,mykey,charge_ref,amount_yen,charged_at\n", wantErr: `unknown column "mykey"`},
		{name: "missing program without default", in: "mykey_id,charge_ref,amount_yen,charged_at\n", wantErr: "--program"},
		{name: "column twice", in: "mykey_id,mykey_id\n", wantErr: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.in), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Rows) != tt.rows {
				t.Errorf("%d rows, want %d (bad: %v)", len(f.Rows), tt.rows, f.Bad)
			}
			if len(f.Bad) != len(tt.bad) {
				t.Fatalf("bad rows %v, want %v", f.Bad, tt.bad)
			}
			for i, b := range tt.bad {
				if f.Bad[i].Line != b.Line || !strings.Contains(f.Bad[i].Err, b.Err) {
					t.Errorf("bad row %d: %v, want line %d with %q", i, f.Bad[i], b.Line, b.Err)
				}
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	f, err := Parse(strings.NewReader("program_id,mykey_id,charge_ref,amount_yen,charged_at\nmynapoint, 0a1b2c3d ,pp-1,1200,2025-09-01T10:00:00+09:00\n"), Options{})
	if err != nil || len(f.Rows) != 1 {
		t.Fatalf("%v %+v", err, f)
	}
	ch := f.Rows[0].Charge
	if f.Rows[0].Line != 2 || ch.ProgramId != "mynapoint" || ch.MykeyId != "0A1B2C3D" || ch.ChargeRef != "pp-1" ||
		ch.AmountYen != 1200 || ch.ChargedAt != 1756688400 {
		t.Fatalf("row %+v, charge %+v", f.Rows[0], ch)
	}
}
