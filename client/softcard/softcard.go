// Package softcard is a software My Number Card: the JPKI AP of DESIGN.md
// §5 answering command APDUs, status words included, over a Store (usually
// a card file, see package cardfile). It is for tests, demos and scripts:
// package vpcd plugs it into pcscd so that PC/SC programs see a card in the
// reader "Virtual PCD 00 00", and package card uses it directly for
// `--card file:PATH`.
//
// What the card does:
//
//   - SELECT AP 00 A4 04 0C 0A <AID> (P2 00 is accepted too): 9000, or
//     6A82 for any other AID. Selecting the AP clears the PIN state.
//   - SELECT EF 00 A4 02 0C 02 <EF> for 0001, 0002, 0006, 000A, 000B,
//     0017, 0018, 001A, 001B: 9000; any other EF, or an EF before the AP
//     is selected: 6A82.
//   - READ BINARY 00 B0 <offset> <Le> of a certificate or token-info EF:
//     the bytes, with 6282 when fewer than Le are left and 6B00 for an
//     offset at or past the end. Certificate EFs hold the DER followed by
//     0xFF filler up to a fixed size, as on a card; readers take the
//     length from the DER header. The signing certificate (0001) needs
//     the signing PIN (else 6982); key and PIN EFs answer 6981.
//   - VERIFY 00 20 00 80 <Lc> <PIN> with a PIN EF (0018 or 001B) current:
//     9000 and the PIN state set; a wrong PIN 63Cx with x tries left (the
//     last one 63C0), stored at once; a blocked PIN 6984, whatever the
//     PIN. A PIN of the wrong length is 6700 and costs no try. An empty
//     VERIFY answers 9000 if the PIN is verified, else 63Cx (6984 when
//     blocked). Both PINs answer so, as on an adult's card, also on a card
//     file without a signing side: its signing PIN reads 63C5 when never
//     tried, and every PIN given to it is wrong (see security.go).
//   - SIGN 80 2A 00 80 <Lc> <DigestInfo> 00 with a key EF current (0017,
//     or 001A with a signing side): the RSASSA-PKCS1-v1_5 signature of
//     the given DigestInfo, or 6982 if that key's PIN is not verified.
//   - Any other class 6E00, any other instruction 6D00, inconsistent
//     lengths 6700, unsupported P1/P2 6A86, a store failure 6581.
//
// The PIN state (which PIN has been verified) lives in the Card value and
// is lost on Reset and PowerOff, as on a card. The retry counters live in
// the Store and change only through Store.Update, so two programs using one
// card file queue, and a wrong PIN is counted even if the program dies
// right after.
package softcard

import (
	"crypto/subtle"
	"sync"

	"github.com/mykeyledger/mykey/client/card/apdu"
)

// ATR is the answer to reset of the soft card: the ATR of a My Number Card
// (T=1).
var ATR = []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}

// CertEFSize is the minimum size of a certificate EF; the DER is padded
// with Filler up to it (or to the next multiple of 256 for a longer one).
const CertEFSize = 2048

// Filler pads certificate EFs after the DER.
const Filler = 0xFF

// Card is a soft JPKI card. It is safe for concurrent use; commands are
// processed one at a time, like on a card.
type Card struct {
	store Store
	// OnError, if set, is called with the error behind a 6581 answer (a
	// store that cannot be read or written).
	OnError func(error)

	mu         sync.Mutex
	apSelected bool
	current    uint16 // selected EF; 0 = none (0 is not a JPKI EF)
	authOK     bool   // user-authentication PIN verified
	signOK     bool   // signing PIN verified
}

// New returns a powered, reset card over store.
func New(store Store) *Card { return &Card{store: store} }

// Reset is a warm reset: the PIN state and the selections are cleared.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset()
}

// PowerOff clears the PIN state and the selections, as removing power from
// a card does.
func (c *Card) PowerOff() { c.Reset() }

// PowerOn is a cold reset.
func (c *Card) PowerOn() { c.Reset() }

func (c *Card) reset() {
	c.apSelected, c.current, c.authOK, c.signOK = false, 0, false, false
}

// Transmit processes one command APDU and returns the response APDU (data
// followed by SW1 SW2). It never fails: every problem is a status word.
func (c *Card) Transmit(cmd []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, sw := c.process(cmd)
	return append(append([]byte(nil), data...), sw.Bytes()...)
}

func (c *Card) process(raw []byte) ([]byte, apdu.SW) {
	cmd, err := apdu.Parse(raw)
	if err != nil {
		if len(raw) < 4 {
			return nil, apdu.SWWrongLength
		}
		// The class and instruction can still be judged.
		cmd = apdu.Command{CLA: raw[0], INS: raw[1], Le: -1}
		if sw := checkClass(cmd); sw != apdu.SWOK {
			return nil, sw
		}
		return nil, apdu.SWWrongLength
	}
	if sw := checkClass(cmd); sw != apdu.SWOK {
		return nil, sw
	}
	switch cmd.INS {
	case apdu.InsSelect:
		return nil, c.selectFile(cmd)
	case apdu.InsReadBinary:
		return c.readBinary(cmd)
	case apdu.InsVerify:
		return nil, c.verify(cmd)
	default: // apdu.InsSign
		return c.sign(cmd)
	}
}

// checkClass answers 6E00 for a class the card does not know or that does
// not go with the instruction, 6D00 for an unknown instruction.
func checkClass(cmd apdu.Command) apdu.SW {
	if cmd.CLA != apdu.ClassISO && cmd.CLA != apdu.ClassJPKI {
		return apdu.SWCLANotSupported
	}
	want := apdu.ClassISO
	switch cmd.INS {
	case apdu.InsSelect, apdu.InsReadBinary, apdu.InsVerify:
	case apdu.InsSign:
		want = apdu.ClassJPKI
	default:
		return apdu.SWINSNotSupported
	}
	if cmd.CLA != want {
		return apdu.SWCLANotSupported
	}
	return apdu.SWOK
}

func (c *Card) selectFile(cmd apdu.Command) apdu.SW {
	if cmd.P2 != 0x0C && cmd.P2 != 0x00 {
		return apdu.SWIncorrectP1P2
	}
	switch cmd.P1 {
	case 0x04: // by DF name
		if len(cmd.Data) == 0 {
			return apdu.SWWrongLength
		}
		if subtle.ConstantTimeCompare(cmd.Data, apdu.AID) != 1 {
			return apdu.SWFileNotFound
		}
		c.reset()
		c.apSelected = true
		return apdu.SWOK
	case 0x02: // EF under the current DF
		if len(cmd.Data) != 2 {
			return apdu.SWWrongLength
		}
		ef := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if !c.apSelected || !knownEF(ef) {
			return apdu.SWFileNotFound
		}
		c.current = ef
		return apdu.SWOK
	default:
		return apdu.SWIncorrectP1P2
	}
}
