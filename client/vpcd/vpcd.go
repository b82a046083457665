// Package vpcd plugs a software card into pcscd through the vpcd driver of
// vsmartcard (Debian package vsmartcard-vpcd), so that every PC/SC program
// on the machine sees it in the reader "Virtual PCD 00 00".
//
// The driver listens on TCP 127.0.0.1:35963 (the reader's second slot,
// "Virtual PCD 00 01", on 35964); see /etc/reader.conf.d/vpcd. The card
// connects to it — the connection is the card being in the reader — and
// then answers messages, each a 2-byte big-endian length and a payload:
//
//	00          power off   (no reply)
//	01          power on    (no reply)
//	02          reset       (no reply)
//	04          get ATR     (reply: the ATR)
//	anything    a command APDU (reply: the response APDU)
//
// Serve keeps the card in the reader until its context is cancelled, and
// reconnects (saying so once) while pcscd is not there. Cancelling the
// context closes the connection: that is how a program, or a test,
// removes the card — even in the middle of an APDU, which then gets no
// answer.
package vpcd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultAddr is where Debian's vsmartcard-vpcd driver listens for the
// card of the reader "Virtual PCD 00 00".
const DefaultAddr = "127.0.0.1:35963"

// Control messages from the driver.
const (
	CtrlPowerOff byte = 0x00
	CtrlPowerOn  byte = 0x01
	CtrlReset    byte = 0x02
	CtrlGetATR   byte = 0x04
)

// Card is what the driver talks to; *softcard.Card implements it.
// Transmit must always return a response APDU (at least a status word).
type Card interface {
	Transmit(command []byte) []byte
	PowerOn()
	PowerOff()
	Reset()
}

// Options configure Serve. The zero value connects to DefaultAddr.
type Options struct {
	Addr string // host:port of the vpcd driver; "" means DefaultAddr
	// ATR is the answer to reset; nil means the soft card's ATR
	// 3B E0 00 FF 81 31 FE 45 14, which pcscd takes for a T=1 card.
	ATR []byte
	// Retry is the pause between connection attempts; 0 means 1s.
	Retry time.Duration
	// Logf receives progress and trouble messages (connected, waiting for
	// pcscd, disconnected); nil discards them. APDUs are never logged: they
	// carry PINs.
	Logf func(format string, args ...any)
	// OnConnect, if set, is called each time the card is in the reader.
	OnConnect func()
}

// DefaultATR is the ATR used when Options.ATR is nil.
var DefaultATR = []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.ATR == nil {
		o.ATR = DefaultATR
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Serve connects card to the vpcd driver at opts.Addr and serves it until
// ctx is cancelled, reconnecting whenever pcscd is not there or goes away.
// It returns nil after ctx is cancelled; it never gives up on its own.
func Serve(ctx context.Context, card Card, opts Options) error {
	opts = opts.withDefaults()
	var d net.Dialer
	waiting := false
	for {
		conn, err := d.DialContext(ctx, "tcp", opts.Addr)
		if ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return nil
		}
		if err != nil {
			if !waiting {
				opts.Logf("vpcd: cannot reach the vpcd driver of pcscd at %s (%v): is pcscd running? "+
					"start it with `pcscd -f` (Debian packages pcscd and vsmartcard-vpcd); retrying every %s",
					opts.Addr, err, opts.Retry)
				waiting = true
			}
		} else {
			waiting = false
			opts.Logf("vpcd: card inserted in the virtual reader at %s", opts.Addr)
			if opts.OnConnect != nil {
				opts.OnConnect()
			}
			err := ServeConn(ctx, conn, card, opts.ATR)
			if ctx.Err() != nil {
				opts.Logf("vpcd: card removed")
				return nil
			}
			opts.Logf("vpcd: connection to pcscd lost (%v); reconnecting", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Retry):
		}
	}
}

// ErrClosed is returned by ServeConn when the driver closed the connection.
var ErrClosed = errors.New("vpcd: connection closed by pcscd")

// ServeConn serves card on one established connection until the peer closes
// it (ErrClosed), a framing or I/O error, or ctx is cancelled (ctx.Err()).
// It closes conn before returning. The card is powered off on return, as a
// card pulled from a reader is.
func ServeConn(ctx context.Context, conn net.Conn, card Card, atr []byte) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	defer card.PowerOff()
	for {
		quickAck(conn)
		msg, err := readMsg(conn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ErrClosed
			}
			return err
		}
		var reply []byte
		if len(msg) == 1 {
			switch msg[0] {
			case CtrlPowerOff:
				card.PowerOff()
			case CtrlPowerOn:
				card.PowerOn()
			case CtrlReset:
				card.Reset()
			case CtrlGetATR:
				reply = atr
			default:
				// A 1-byte APDU is never valid; a card answers 6700.
				reply = []byte{0x67, 0x00}
			}
			if reply == nil {
				continue
			}
		} else {
			reply = card.Transmit(msg)
		}
		// A card removed while working never answers.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := writeMsg(conn, reply); err != nil {
			return err
		}
	}
}

// maxMsg bounds a message; the 2-byte length cannot say more.
const maxMsg = 0xFFFF

func readMsg(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint16(hdr[:])
	if n == 0 {
		return nil, errors.New("vpcd: empty message")
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("vpcd: reading a %d-byte message: %w", n, err)
	}
	return msg, nil
}

func writeMsg(w io.Writer, msg []byte) error {
	if len(msg) > maxMsg {
		return fmt.Errorf("vpcd: message of %d bytes is too long", len(msg))
	}
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	return err
}
