package apdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The commands are byte for byte those of DESIGN.md §5.
func TestCommands(t *testing.T) {
	di := bytes.Repeat([]byte{0xAB}, 51)
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"SELECT AP", SelectAP(), h("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")},
		{"SELECT EF 000A", SelectEF(EFAuthCert), h("00 A4 02 0C 02 00 0A")},
		{"SELECT EF 001B", SelectEF(EFSignPIN), h("00 A4 02 0C 02 00 1B")},
		{"READ BINARY", ReadBinary(0x0123, 0x45), h("00 B0 01 23 45")},
		{"READ BINARY 256", ReadBinary(0, 256), h("00 B0 00 00 00")},
		{"VERIFY", Verify([]byte("1234")), h("00 20 00 80 04 31 32 33 34")},
		{"empty VERIFY", Verify(nil), h("00 20 00 80")},
		{"SIGN", Sign(di), append(append(h("80 2A 00 80 33"), di...), 0x00)},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s = % X, want % X", tt.name, tt.got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Command
		err  error
	}{
		{"00A40000", Command{0x00, 0xA4, 0x00, 0x00, nil, -1}, nil},
		{"00B0000010", Command{0x00, 0xB0, 0, 0, nil, 16}, nil},
		{"00B0000000", Command{0x00, 0xB0, 0, 0, nil, 256}, nil},
		{"0020008004 31323334", Command{0x00, 0x20, 0, 0x80, []byte("1234"), -1}, nil},
		{"802A008002 AABB 00", Command{0x80, 0x2A, 0, 0x80, h("AABB"), 256}, nil},
		{"802A008002 AABB 10", Command{0x80, 0x2A, 0, 0x80, h("AABB"), 16}, nil},
		{"00A404", Command{}, ErrLength},
		{"0020008004 3132", Command{}, ErrLength},
		{"0020008002 313233 00 00", Command{}, ErrLength},
		{"00B00000 000100", Command{}, ErrLength}, // extended length
	}
	for _, tt := range tests {
		got, err := Parse(h(tt.in))
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%s): error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && (got.CLA != tt.want.CLA || got.INS != tt.want.INS || got.P1 != tt.want.P1 ||
			got.P2 != tt.want.P2 || !bytes.Equal(got.Data, tt.want.Data) || got.Le != tt.want.Le) {
			t.Errorf("Parse(%s) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil && !bytes.Equal(got.Encode(), h(tt.in)) {
			t.Errorf("Parse(%s).Encode() = % X: not a round trip", tt.in, got.Encode())
		}
	}
}

func TestStatusWords(t *testing.T) {
	if n, ok := SW(0x63C2).TriesLeft(); !ok || n != 2 {
		t.Errorf("63C2: %d %v", n, ok)
	}
	if _, ok := SWOK.TriesLeft(); ok {
		t.Error("9000 carries tries")
	}
	if VerifyFailed(0) != 0x63C0 || VerifyFailed(3) != 0x63C3 {
		t.Error("VerifyFailed")
	}
	if !SW(0x6984).Blocked() || !SW(0x6983).Blocked() || SW(0x6982).Blocked() {
		t.Error("Blocked")
	}
	if s := SW(0x6A82).String(); s != "6A82 (file or application not found)" {
		t.Errorf("String = %q", s)
	}
	if s := SW(0x63C1).String(); !strings.Contains(s, "1 tries left") {
		t.Errorf("String = %q", s)
	}
	data, sw, err := Split(h("0102 9000"))
	if err != nil || sw != SWOK || !bytes.Equal(data, h("0102")) {
		t.Errorf("Split = % X %v %v", data, sw, err)
	}
	if _, _, err := Split(h("90")); err == nil {
		t.Error("Split of one byte succeeded")
	}
}
