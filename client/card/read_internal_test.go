package card

import "testing"

func TestDERSize(t *testing.T) {
	tests := []struct {
		hdr  []byte
		want int
		ok   bool
	}{
		{[]byte{0x30, 0x82, 0x03, 0x85}, 4 + 0x385, true},
		{[]byte{0x30, 0x81, 0xC8, 0x30}, 3 + 0xC8, true},
		{[]byte{0x30, 0x10, 0x02, 0x01}, 2 + 0x10, true},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF}, 0, false}, // an empty EF: filler only
		{[]byte{0x30, 0x83, 0x01, 0x00}, 0, false}, // longer than an EF
		{[]byte{0x30, 0x82, 0x7F, 0xFF}, 0, false}, // past offset 0x7FFF
		{[]byte{0x30, 0x82}, 0, false},
	}
	for _, tt := range tests {
		got, err := derSize(tt.hdr)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("derSize(% X) = %d, %v; want %d, ok=%v", tt.hdr, got, err, tt.want, tt.ok)
		}
	}
}
