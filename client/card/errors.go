package card

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// Errors of card access. Every error this package returns for one of these
// situations wraps the sentinel, so callers switch with errors.Is; the
// messages say what the user should do.
var (
	// ErrNoService: pcscd is not running.
	ErrNoService = errors.New("card: the PC/SC service is not running: start it with `pcscd -f` (Debian package pcscd)")
	// ErrNoReader: pcscd knows no reader, or not the one asked for.
	ErrNoReader = errors.New("card: no smart-card reader: connect a reader (or, for a test card, install vsmartcard-vpcd and run `mykey card emulate --card FILE`)")
	// ErrNoCard: no card in the reader(s).
	ErrNoCard = errors.New("card: no card in the reader: insert your My Number Card")
	// ErrNotJPKI: the card has no JPKI application.
	ErrNotJPKI = errors.New("card: the card has no JPKI application: is it a My Number Card?")
	// ErrRemoved: the card was removed (or reset by another program)
	// during the operation.
	ErrRemoved = errors.New("card: the card was removed during the operation: put it back and try again")
	// ErrBlocked: the user-authentication PIN is blocked.
	ErrBlocked = errors.New("card: the PIN is blocked after too many wrong tries: " +
		"have it reset at your municipal office (for a test card, issue a new one)")
	// ErrPINFormat: the PIN is not 4 digits. The card was not asked.
	ErrPINFormat = errors.New("card: the user-authentication PIN is 4 digits")
	// ErrCardError: the card answered a status word the protocol does not
	// expect.
	ErrCardError = errors.New("card: unexpected answer from the card")
)

// WrongPINError is a wrong PIN: the card counted a try.
type WrongPINError struct {
	TriesLeft int // tries left before the card blocks (1 or 2; 0 is ErrBlocked)
}

func (e *WrongPINError) Error() string {
	s := "tries"
	if e.TriesLeft == 1 {
		s = "try"
	}
	return fmt.Sprintf("card: wrong PIN: %d %s left before the card is blocked", e.TriesLeft, s)
}

// pcscError turns a PC/SC error into one of the errors above where one
// fits, keeping the scard.Error in the chain. what says what was being
// done.
func pcscError(what string, err error) error {
	var se scard.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("card: %s: %w", what, err)
	}
	var kind error
	switch se {
	case scard.ErrNoService, scard.ErrServiceStopped:
		kind = ErrNoService
	case scard.ErrNoReadersAvailable, scard.ErrUnknownReader, scard.ErrReaderUnavailable:
		kind = ErrNoReader
	case scard.ErrNoSmartcard:
		kind = ErrNoCard
	case scard.ErrRemovedCard, scard.ErrResetCard, scard.ErrUnpoweredCard,
		scard.ErrUnresponsiveCard, scard.ErrNotTransacted, scard.ErrCommError:
		// pcsc-lite answers a card pulled in the middle of an APDU with
		// one of these, depending on when it notices.
		kind = ErrRemoved
	default:
		return fmt.Errorf("card: %s: %w", what, err)
	}
	return fmt.Errorf("%w (%s: %w)", kind, what, err)
}
