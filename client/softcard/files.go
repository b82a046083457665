package softcard

import (
	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/internal/cardfile"
)

// The elementary files of the JPKI AP: which exist, what they hold, and
// READ BINARY.

// knownEF reports whether the JPKI AP has the EF ef.
func knownEF(ef uint16) bool {
	switch ef {
	case apdu.EFSignCert, apdu.EFSignCACert, apdu.EFTokenInfo,
		apdu.EFAuthCert, apdu.EFAuthCACert, apdu.EFAuthKey, apdu.EFAuthPIN,
		apdu.EFSignKey, apdu.EFSignPIN:
		return true
	}
	return false
}

// load reads the card's memory; a store failure is 6581.
func (c *Card) load() (*cardfile.Card, apdu.SW) {
	card, err := c.store.Load()
	if err != nil {
		c.fail(err)
		return nil, apdu.SWMemoryFailure
	}
	return card, apdu.SWOK
}

// fail reports a store failure to OnError.
func (c *Card) fail(err error) {
	if c.OnError != nil {
		c.OnError(err)
	}
}

// content returns the bytes of a transparent EF, or the status word that
// refuses reading it.
func (c *Card) content(ef uint16) ([]byte, apdu.SW) {
	switch ef {
	case 0:
		return nil, apdu.SWNotAllowed
	case apdu.EFAuthKey, apdu.EFAuthPIN, apdu.EFSignKey, apdu.EFSignPIN:
		return nil, apdu.SWIncompatibleFile
	case apdu.EFSignCert:
		if !c.signOK {
			return nil, apdu.SWSecurityNotMet
		}
	}
	card, sw := c.load()
	if sw != apdu.SWOK {
		return nil, sw
	}
	switch ef {
	case apdu.EFAuthCert:
		return certEF(card.Certificate), apdu.SWOK
	case apdu.EFAuthCACert:
		return certEF(card.CACertificate), apdu.SWOK
	case apdu.EFSignCert:
		return certEF(card.SignCertificate), apdu.SWOK
	case apdu.EFSignCACert:
		return certEF(card.SignCACertificate), apdu.SWOK
	default: // apdu.EFTokenInfo
		if card.TokenInfo != nil {
			return card.TokenInfo, apdu.SWOK
		}
		return cardfile.DefaultTokenInfo, apdu.SWOK
	}
}

// certEF lays out a certificate EF: the DER, then filler. An EF without a
// certificate (a card without a signing side) holds filler only.
func certEF(der []byte) []byte {
	size := CertEFSize
	if len(der) > size {
		size = (len(der) + 255) &^ 255
	}
	ef := make([]byte, size)
	n := copy(ef, der)
	for i := n; i < size; i++ {
		ef[i] = Filler
	}
	return ef
}

func (c *Card) readBinary(cmd apdu.Command) ([]byte, apdu.SW) {
	if cmd.P1&0x80 != 0 { // short EF identifier addressing: not supported
		return nil, apdu.SWIncorrectP1P2
	}
	if cmd.Data != nil || cmd.Le < 0 {
		return nil, apdu.SWWrongLength
	}
	ef, sw := c.content(c.current)
	if sw != apdu.SWOK {
		return nil, sw
	}
	off := int(cmd.P1)<<8 | int(cmd.P2)
	if off >= len(ef) {
		return nil, apdu.SWWrongP1P2
	}
	end := off + cmd.Le
	if end > len(ef) {
		return ef[off:], apdu.SWEndOfFile
	}
	return ef[off:end], apdu.SWOK
}
