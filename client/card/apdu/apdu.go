// Package apdu is the JPKI card protocol of a My Number Card as both sides
// see it: the AID and elementary files of the JPKI application, the command
// APDUs the host sends, their parsing on the card side, and the status
// words the card answers (DESIGN.md §5, ISO/IEC 7816-4 short APDUs).
//
// The host side (package card) builds commands with SelectAP, SelectEF,
// ReadBinary, Verify, Sign and splits answers with Split; the card side
// (package softcard) parses commands with Parse.
package apdu

import (
	"errors"
	"fmt"
)

// AID is the application identifier of the JPKI AP (公的個人認証AP).
var AID = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}

// Elementary files of the JPKI AP.
const (
	EFSignCert   uint16 = 0x0001 // signing certificate, readable after the signing PIN
	EFSignCACert uint16 = 0x0002 // the signing certificate's CA
	EFTokenInfo  uint16 = 0x0006 // token information, 32 bytes "JPKIAPICCTOKEN2..."
	EFAuthCert   uint16 = 0x000A // user-authentication certificate, readable without PIN
	EFAuthCACert uint16 = 0x000B // its CA
	EFAuthKey    uint16 = 0x0017 // user-authentication private key (SIGN)
	EFAuthPIN    uint16 = 0x0018 // user-authentication PIN, 4 digits, 3 tries
	EFSignKey    uint16 = 0x001A // signing private key
	EFSignPIN    uint16 = 0x001B // signing PIN, 6-16 characters, 5 tries
)

// Classes and instructions used by the JPKI AP.
const (
	ClassISO  byte = 0x00 // SELECT, READ BINARY, VERIFY
	ClassJPKI byte = 0x80 // SIGN (proprietary)

	InsSelect     byte = 0xA4
	InsReadBinary byte = 0xB0
	InsVerify     byte = 0x20
	InsSign       byte = 0x2A
)

// Command is a parsed short command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte // command data; nil when Lc is absent
	// Le is the expected response length: -1 when absent, 1..256 when
	// present (an encoded 00 means 256).
	Le int
}

// Encode returns the APDU bytes of c (short form).
func (c Command) Encode() []byte {
	b := []byte{c.CLA, c.INS, c.P1, c.P2}
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Le >= 0 {
		b = append(b, byte(c.Le)) // 256 encodes as 00
	}
	return b
}

// ErrLength is returned by Parse for an APDU whose length fields do not
// match its size (the card answers SWWrongLength).
var ErrLength = errors.New("apdu: inconsistent length")

// Parse parses a short command APDU (cases 1 to 4 of ISO/IEC 7816-3).
// Extended-length APDUs are refused with ErrLength.
func Parse(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, ErrLength
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: -1}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2: Le
		c.Le = le(body[0])
	default:
		lc := int(body[0])
		if lc == 0 { // extended length
			return Command{}, ErrLength
		}
		switch len(body) {
		case 1 + lc: // case 3
			c.Data = body[1:]
		case 2 + lc: // case 4
			c.Data = body[1 : 1+lc]
			c.Le = le(body[1+lc])
		default:
			return Command{}, ErrLength
		}
	}
	return c, nil
}

func le(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

// SelectAP selects the JPKI AP by AID: 00 A4 04 0C 0A <AID>.
func SelectAP() []byte {
	return Command{CLA: ClassISO, INS: InsSelect, P1: 0x04, P2: 0x0C, Data: AID, Le: -1}.Encode()
}

// SelectEF selects an elementary file of the current AP: 00 A4 02 0C 02 <EF>.
func SelectEF(ef uint16) []byte {
	return Command{CLA: ClassISO, INS: InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{byte(ef >> 8), byte(ef)}, Le: -1}.Encode()
}

// ReadBinary reads n bytes (1..256) at offset (0..0x7FFF) of the current
// EF: 00 B0 <offset> <Le>.
func ReadBinary(offset uint16, n int) []byte {
	return Command{CLA: ClassISO, INS: InsReadBinary, P1: byte(offset >> 8), P2: byte(offset), Le: n}.Encode()
}

// Verify presents a PIN for the current PIN EF: 00 20 00 80 <Lc> <PIN>.
// With an empty pin it asks for the tries left instead.
func Verify(pin []byte) []byte {
	return Command{CLA: ClassISO, INS: InsVerify, P1: 0x00, P2: 0x80, Data: pin, Le: -1}.Encode()
}

// Sign asks the card to PKCS#1 v1.5-pad digestInfo and apply the private
// key of the current key EF: 80 2A 00 80 <Lc> <DigestInfo> 00.
func Sign(digestInfo []byte) []byte {
	return Command{CLA: ClassJPKI, INS: InsSign, P1: 0x00, P2: 0x80, Data: digestInfo, Le: 256}.Encode()
}

// Split separates a response APDU into its data and status word.
func Split(resp []byte) ([]byte, SW, error) {
	if len(resp) < 2 {
		return nil, 0, fmt.Errorf("apdu: response of %d bytes has no status word", len(resp))
	}
	n := len(resp) - 2
	return resp[:n], SW(resp[n])<<8 | SW(resp[n+1]), nil
}
