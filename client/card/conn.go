// Package card reads and signs with a My Number Card: through PC/SC
// (pcscd, via github.com/ebfe/scard) for a real card, or directly on a
// software card file for tests and scripts.
//
// Open takes the --card argument of the mykey commands:
//
//	pcsc          the first reader holding a card with the JPKI AP (default)
//	pcsc:READER   that reader (exact name, or a unique part of it)
//	file:PATH     a software card file (package cardfile), TEST-ONLY
//
// and returns a *Conn, which implements Signer. Both kinds speak the same
// APDUs (package apdu): SELECT the JPKI AP, READ BINARY the
// user-authentication certificate (no PIN), VERIFY the 4-digit PIN, SIGN
// the SHA-256 DigestInfo of the sign bytes. Each operation runs in one
// PC/SC transaction, so another program cannot slip an APDU in between
// VERIFY and SIGN, and after a signature the card is reset so that the
// verified PIN does not outlive the operation.
//
// Errors wrap the sentinels of errors.go (ErrNoService, ErrNoReader,
// ErrNoCard, ErrRemoved, ErrBlocked, ...) or are a *WrongPINError, and
// say what to do. PINs are passed to the card and nowhere else: this
// package never logs, stores or keeps them.
package card

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/internal/cardfile"
)

// Signer is a card that can prove "one person": it shows its
// user-authentication certificate and signs sign bytes with the key that
// never leaves it. Implementations are safe for use by one goroutine at a
// time. Errors are those of this package (see errors.go).
type Signer interface {
	// Certificate returns the DER of the user-authentication certificate
	// (EF 000A), read without a PIN.
	Certificate() ([]byte, error)
	// Sign verifies pin (4 digits) and returns the card's RSASSA-PKCS1-v1_5
	// signature over the SHA-256 DigestInfo of signBytes. A wrong PIN is a
	// *WrongPINError; a blocked card ErrBlocked (the card was not asked to
	// sign).
	Sign(signBytes []byte, pin string) ([]byte, error)
	// Close releases the card (and the reader).
	Close()
}

var _ Signer = (*Conn)(nil)

// transport carries APDUs to one card.
type transport interface {
	// transmit sends a command APDU and returns the response APDU.
	transmit(cmd []byte) ([]byte, error)
	// begin starts an exclusive operation; end finishes it, resetting the
	// card if reset is set (dropping the PIN state).
	begin() error
	end(reset bool)
	close()
}

// Conn is an open card. It is safe for concurrent use; operations queue.
type Conn struct {
	mu     sync.Mutex
	t      transport
	reader string // reader name, or "file:PATH"
	cert   []byte // cached certificate DER
}

// Reader names where the card is: a PC/SC reader name, or "file:PATH".
func (c *Conn) Reader() string { return c.reader }

// Close releases the card.
func (c *Conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t != nil {
		c.t.close()
		c.t = nil
	}
}

// run runs fn as one exclusive operation on the card.
func (c *Conn) run(reset bool, fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t == nil {
		return errors.New("card: use of a closed card")
	}
	if err := c.t.begin(); err != nil {
		return err
	}
	err := fn()
	c.t.end(reset || err != nil)
	return err
}

// cmd sends a command and returns the data and status word of the answer.
func (c *Conn) cmd(what string, cmd []byte) ([]byte, apdu.SW, error) {
	resp, err := c.t.transmit(cmd)
	if err != nil {
		return nil, 0, err
	}
	data, sw, err := apdu.Split(resp)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %v", ErrCardError, what, err)
	}
	return data, sw, nil
}

// ok sends a command that must answer 9000.
func (c *Conn) ok(what string, cmd []byte) ([]byte, error) {
	data, sw, err := c.cmd(what, cmd)
	if err != nil {
		return nil, err
	}
	if sw != apdu.SWOK {
		return nil, fmt.Errorf("%w: %s: %v", ErrCardError, what, sw)
	}
	return data, nil
}

func (c *Conn) selectAP() error {
	_, sw, err := c.cmd("SELECT JPKI AP", apdu.SelectAP())
	switch {
	case err != nil:
		return err
	case sw == apdu.SWFileNotFound:
		return fmt.Errorf("%w (reader %s)", ErrNotJPKI, c.reader)
	case sw != apdu.SWOK:
		return fmt.Errorf("%w: SELECT JPKI AP: %v", ErrCardError, sw)
	}
	return nil
}

func (c *Conn) selectEF(ef uint16) error {
	_, err := c.ok(fmt.Sprintf("SELECT EF %04X", ef), apdu.SelectEF(ef))
	return err
}

// selectAPEF selects the JPKI AP, then the elementary file ef in it.
func (c *Conn) selectAPEF(ef uint16) error {
	if err := c.selectAP(); err != nil {
		return err
	}
	return c.selectEF(ef)
}

// Certificate reads the user-authentication certificate (no PIN).
func (c *Conn) Certificate() ([]byte, error) {
	c.mu.Lock()
	cached := c.cert
	c.mu.Unlock()
	if cached != nil {
		return append([]byte(nil), cached...), nil
	}
	var cert []byte
	err := c.run(false, func() error {
		if err := c.selectAPEF(apdu.EFAuthCert); err != nil {
			return err
		}
		der, err := c.readDER()
		if err != nil {
			return err
		}
		if _, err := x509.ParseCertificate(der); err != nil {
			return fmt.Errorf("%w: the certificate on the card does not parse: %v", ErrCardError, err)
		}
		c.cert, cert = der, append([]byte(nil), der...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cert, nil
}

// TriesLeft asks the card how many PIN tries are left (an empty VERIFY);
// 0 means blocked. It costs no try.
func (c *Conn) TriesLeft() (int, error) {
	var n int
	err := c.run(false, func() error {
		if err := c.selectAPEF(apdu.EFAuthPIN); err != nil {
			return err
		}
		_, sw, err := c.cmd("VERIFY", apdu.Verify(nil))
		if err != nil {
			return err
		}
		if t, ok := sw.TriesLeft(); ok {
			n = t
			return nil
		}
		switch {
		case sw.Blocked():
			n = 0
		case sw == apdu.SWOK: // already verified: no try spent
			n = cardfile.AuthPINTries
		default:
			return fmt.Errorf("%w: VERIFY: %v", ErrCardError, sw)
		}
		return nil
	})
	return n, err
}

// Sign verifies pin and signs the SHA-256 DigestInfo of signBytes.
func (c *Conn) Sign(signBytes []byte, pin string) ([]byte, error) {
	if !cardfile.IsAuthPIN(pin) {
		return nil, ErrPINFormat
	}
	var sig []byte
	err := c.run(true, func() error {
		if err := c.selectAPEF(apdu.EFAuthPIN); err != nil {
			return err
		}
		if err := c.verify(pin); err != nil {
			return err
		}
		if err := c.selectEF(apdu.EFAuthKey); err != nil {
			return err
		}
		data, sw, err := c.cmd("SIGN", apdu.Sign(jpki.DigestInfo(signBytes)))
		switch {
		case err != nil:
			return err
		case sw == apdu.SWSecurityNotMet:
			return fmt.Errorf("%w: the card forgot the verified PIN (reset by another program?): try again", ErrRemoved)
		case sw != apdu.SWOK:
			return fmt.Errorf("%w: SIGN: %v", ErrCardError, sw)
		case len(data) == 0:
			return fmt.Errorf("%w: SIGN returned no signature", ErrCardError)
		}
		sig = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

func (c *Conn) verify(pin string) error {
	_, sw, err := c.cmd("VERIFY", apdu.Verify([]byte(pin)))
	if err != nil {
		return err
	}
	if sw == apdu.SWOK {
		return nil
	}
	if n, ok := sw.TriesLeft(); ok {
		if n == 0 {
			return fmt.Errorf("%w (that was the last try)", ErrBlocked)
		}
		return &WrongPINError{TriesLeft: n}
	}
	if sw.Blocked() {
		return ErrBlocked
	}
	return fmt.Errorf("%w: VERIFY: %v", ErrCardError, sw)
}
