package card

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// pcscTransport is a card in a PC/SC reader.
type pcscTransport struct {
	ctx    *scard.Context
	card   *scard.Card
	reader string
}

// handleError maps a PC/SC error on an established connection: "no smart
// card" there means the card was pulled.
func (p *pcscTransport) handleError(what string, err error) error {
	if errors.Is(err, scard.ErrNoSmartcard) {
		return fmt.Errorf("%w (%s the card in %s: %w)", ErrRemoved, what, p.reader, err)
	}
	return pcscError(what+" the card in "+p.reader, err)
}

func (p *pcscTransport) transmit(cmd []byte) ([]byte, error) {
	resp, err := p.card.Transmit(cmd)
	if err != nil {
		return nil, p.handleError("talking to", err)
	}
	if len(resp) < 2 {
		// pcsc-lite with the vpcd driver reports success with an empty
		// answer when the card goes away in the middle of an APDU.
		return nil, fmt.Errorf("%w (the card in %s stopped answering)", ErrRemoved, p.reader)
	}
	return resp, nil
}

// begin starts a PC/SC transaction. If the card was reset since the last
// operation (by us or another program), the handle is reconnected first:
// nothing of ours was in progress.
func (p *pcscTransport) begin() error {
	err := p.card.BeginTransaction()
	if errors.Is(err, scard.ErrResetCard) {
		if err = p.card.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.LeaveCard); err == nil {
			err = p.card.BeginTransaction()
		}
	}
	if err != nil {
		return p.handleError("starting a transaction with", err)
	}
	return nil
}

func (p *pcscTransport) end(reset bool) {
	disp := scard.LeaveCard
	if reset {
		disp = scard.ResetCard
	}
	p.card.EndTransaction(disp)
}

func (p *pcscTransport) close() {
	p.card.Disconnect(scard.LeaveCard)
	p.ctx.Release()
}
