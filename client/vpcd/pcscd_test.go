package vpcd_test

import (
	"bytes"
	"testing"

	"github.com/ebfe/scard"

	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/client/card/pcsctest"
	"github.com/mykeyledger/mykey/client/softcard"
)

// Through the real pcscd: the card appears in "Virtual PCD 00 00" with its
// ATR, APDUs sent with scard reach it, and removing it empties the reader.
func TestThroughPCSCD(t *testing.T) {
	pcsctest.Setup(t)
	path, _ := pcsctest.NewCardFile(t, "1234")
	e := pcsctest.EmulateFile(t, path)

	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	readers, err := ctx.ListReaders()
	if err != nil {
		t.Fatal(err)
	}
	if len(readers) < 1 || readers[0] != pcsctest.Reader {
		t.Fatalf("readers %q, want %q first", readers, pcsctest.Reader)
	}
	c, err := ctx.Connect(pcsctest.Reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(scard.LeaveCard)
	if c.ActiveProtocol() != scard.ProtocolT1 {
		t.Errorf("protocol %v, want T=1 from the ATR", c.ActiveProtocol())
	}
	st, err := c.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Atr, softcard.ATR) {
		t.Errorf("ATR % X, want % X", st.Atr, softcard.ATR)
	}
	resp, err := c.Transmit(apdu.SelectAP())
	if err != nil || !bytes.Equal(resp, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT AP: % X, %v", resp, err)
	}
	resp, err = c.Transmit([]byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0xA0, 0x00})
	if err != nil || !bytes.Equal(resp, []byte{0x6A, 0x82}) {
		t.Fatalf("SELECT of an unknown AID: % X, %v; want 6A82", resp, err)
	}
	e.Remove(t)
	if pcsctest.Present(t) {
		t.Fatal("card still present after the emulator stopped")
	}
}
