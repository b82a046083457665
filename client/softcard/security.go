package softcard

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"

	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/client/cardfile"
)

// pinRef describes one of the card's two PINs.
type pinRef struct {
	minLen, maxLen, max int
	verified            *bool
	get                 func(*cardfile.Card) (pin string, tries *int)
}

func (c *Card) pinRef(ef uint16) (pinRef, bool) {
	switch ef {
	case apdu.EFAuthPIN:
		return pinRef{4, 4, cardfile.AuthPINTries, &c.authOK,
			func(k *cardfile.Card) (string, *int) { return k.PIN, &k.TriesLeft }}, true
	case apdu.EFSignPIN:
		return pinRef{cardfile.SignPINMin, cardfile.SignPINMax, cardfile.SignPINTries, &c.signOK,
			func(k *cardfile.Card) (string, *int) {
				if k.SignKey == nil {
					// No signing side: the PIN is not usable.
					zero := 0
					return "", &zero
				}
				return k.SignPIN, &k.SignTriesLeft
			}}, true
	}
	return pinRef{}, false
}

func (c *Card) verify(cmd apdu.Command) apdu.SW {
	if cmd.P1 != 0x00 || cmd.P2 != 0x80 {
		return apdu.SWIncorrectP1P2
	}
	if cmd.Le >= 0 {
		return apdu.SWWrongLength
	}
	ref, ok := c.pinRef(c.current)
	if !ok {
		return apdu.SWNotAllowed
	}
	if len(cmd.Data) == 0 { // how many tries are left?
		card, sw := c.load()
		if sw != apdu.SWOK {
			return sw
		}
		_, tries := ref.get(card)
		switch {
		case *tries <= 0:
			return apdu.SWRefDataNotUsable
		case *ref.verified:
			return apdu.SWOK
		}
		return apdu.VerifyFailed(*tries)
	}
	if len(cmd.Data) < ref.minLen || len(cmd.Data) > ref.maxLen {
		return apdu.SWWrongLength
	}
	*ref.verified = false
	var result apdu.SW
	err := c.store.Update(func(card *cardfile.Card) error {
		pin, tries := ref.get(card)
		switch {
		case *tries <= 0:
			result = apdu.SWRefDataNotUsable
		case subtle.ConstantTimeCompare([]byte(pin), cmd.Data) == 1:
			*tries = ref.max
			result = apdu.SWOK
		default:
			*tries--
			result = apdu.VerifyFailed(*tries)
		}
		return nil
	})
	if err != nil {
		c.fail(err)
		return apdu.SWMemoryFailure
	}
	*ref.verified = result == apdu.SWOK
	return result
}

func (c *Card) sign(cmd apdu.Command) ([]byte, apdu.SW) {
	if cmd.P1 != 0x00 || cmd.P2 != 0x80 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) == 0 {
		return nil, apdu.SWWrongLength
	}
	var verified bool
	var key func(*cardfile.Card) *rsa.PrivateKey
	switch c.current {
	case apdu.EFAuthKey:
		verified, key = c.authOK, func(k *cardfile.Card) *rsa.PrivateKey { return k.Key }
	case apdu.EFSignKey:
		verified, key = c.signOK, func(k *cardfile.Card) *rsa.PrivateKey { return k.SignKey }
	default:
		return nil, apdu.SWNotAllowed
	}
	if !verified {
		return nil, apdu.SWSecurityNotMet
	}
	var sig []byte
	var result apdu.SW
	err := c.store.Update(func(card *cardfile.Card) error {
		k := key(card)
		if k == nil {
			result = apdu.SWSecurityNotMet
			return nil
		}
		if len(cmd.Data) > k.Size()-11 {
			result = apdu.SWWrongLength
			return nil
		}
		s, err := rsa.SignPKCS1v15(nil, k, crypto.Hash(0), cmd.Data)
		if err != nil {
			return err
		}
		sig, result = s, apdu.SWOK
		card.Signatures++
		return nil
	})
	if err != nil {
		c.fail(err)
		return nil, apdu.SWMemoryFailure
	}
	return sig, result
}
