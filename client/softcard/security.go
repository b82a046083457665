package softcard

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"

	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/internal/cardfile"
)

// pinRef describes one of the card's two PINs.
type pinRef struct {
	minLen, maxLen, max int
	verified            *bool
	// get returns the PIN and its tries left; set stores the tries left.
	get func(*cardfile.Card) (pin string, left int)
	set func(k *cardfile.Card, left int)
}

func (c *Card) pinRef(ef uint16) (pinRef, bool) {
	switch ef {
	case apdu.EFAuthPIN:
		return pinRef{4, 4, cardfile.AuthPINTries, &c.authOK,
			func(k *cardfile.Card) (string, int) { return k.PIN, k.TriesLeft },
			func(k *cardfile.Card, left int) { k.TriesLeft = left }}, true
	case apdu.EFSignPIN:
		return pinRef{cardfile.SignPINMin, cardfile.SignPINMax, cardfile.SignPINTries, &c.signOK,
			func(k *cardfile.Card) (string, int) {
				// Without a signing side SignPIN is empty and no PIN
				// opens it; its tries count down as on a real card.
				return k.SignPIN, k.SignTriesLeft
			},
			func(k *cardfile.Card, left int) { k.SignTriesLeft = left }}, true
	}
	return pinRef{}, false
}

// A card file without a signing side still has a signing PIN, as every
// adult's card does: JPKI middleware reads the tries left of both PINs and
// will not use a card whose signing PIN answers 6984. The file holds no such
// PIN, so every PIN is wrong and counted in SignTriesLeft.

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
		_, left := ref.get(card)
		switch {
		case left <= 0:
			return apdu.SWRefDataNotUsable
		case *ref.verified:
			return apdu.SWOK
		}
		return apdu.VerifyFailed(left)
	}
	if len(cmd.Data) < ref.minLen || len(cmd.Data) > ref.maxLen {
		return apdu.SWWrongLength
	}
	*ref.verified = false
	var result apdu.SW
	err := c.store.Update(func(card *cardfile.Card) error {
		pin, left := ref.get(card)
		switch {
		case left <= 0:
			result = apdu.SWRefDataNotUsable
		case pin != "" && subtle.ConstantTimeCompare([]byte(pin), cmd.Data) == 1:
			ref.set(card, ref.max)
			result = apdu.SWOK
		default:
			ref.set(card, left-1)
			result = apdu.VerifyFailed(left - 1)
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
