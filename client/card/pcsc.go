package card

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ebfe/scard"
)

// ReaderStatus is one PC/SC reader and whether it holds a card.
type ReaderStatus struct {
	Name    string
	Present bool   // a card is in the reader
	ATR     []byte // the card's ATR, when present
}

// ListReaders returns the PC/SC readers pcscd knows, in its order, and
// whether each holds a card. No reader at all is an empty list, not an
// error; pcscd not running is ErrNoService.
func ListReaders() ([]ReaderStatus, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, pcscError("connecting to pcscd", err)
	}
	defer ctx.Release()
	return readerStatus(ctx)
}

func readerStatus(ctx *scard.Context) ([]ReaderStatus, error) {
	names, err := ctx.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, pcscError("listing readers", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	states := make([]scard.ReaderState, len(names))
	for i, n := range names {
		states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	if err := ctx.GetStatusChange(states, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		return nil, pcscError("reading reader status", err)
	}
	out := make([]ReaderStatus, len(names))
	for i, s := range states {
		out[i] = ReaderStatus{Name: names[i], Present: s.EventState&scard.StatePresent != 0}
		if out[i].Present {
			out[i].ATR = append([]byte(nil), s.Atr...)
		}
	}
	return out, nil
}

// OpenOptions configure OpenContext.
type OpenOptions struct {
	// Wait makes OpenContext wait (until its context ends) for a reader
	// and a card instead of failing with ErrNoReader or ErrNoCard.
	Wait bool
	// Notify, if set, receives a message for the user each time the
	// waiting starts or changes ("insert your My Number Card in ...").
	Notify func(msg string)
}

// Open opens the card named by spec (see the package documentation)
// without waiting for one.
func Open(spec string) (*Conn, error) {
	return OpenContext(context.Background(), spec, OpenOptions{})
}

// OpenContext opens the card named by spec: "pcsc", "pcsc:READER" or
// "file:PATH" ("" means "pcsc").
func OpenContext(ctx context.Context, spec string, opts OpenOptions) (*Conn, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch {
	case spec == "" || spec == "pcsc":
		return openPCSC(ctx, "", opts)
	case kind == "pcsc" && arg != "":
		return openPCSC(ctx, arg, opts)
	case kind == "file" && arg != "":
		return OpenFile(arg)
	}
	return nil, fmt.Errorf("card: unknown card %q: use pcsc, pcsc:READER or file:PATH", spec)
}

// pollInterval is how often a waiting Open looks again. pcsc-lite's
// GetStatusChange also returns early on any change.
const pollInterval = 500 * time.Millisecond

func openPCSC(ctx context.Context, want string, opts OpenOptions) (*Conn, error) {
	sctx, err := scard.EstablishContext()
	if err != nil {
		return nil, pcscError("connecting to pcscd", err)
	}
	lastMsg := ""
	notify := func(msg string) {
		if opts.Notify != nil && msg != lastMsg {
			opts.Notify(msg)
		}
		lastMsg = msg
	}
	for {
		conn, waitErr, err := tryOpen(sctx, want)
		if err != nil || conn != nil {
			if err != nil {
				sctx.Release()
			}
			return conn, err
		}
		if !opts.Wait {
			sctx.Release()
			return nil, waitErr
		}
		switch {
		case errors.Is(waitErr, ErrNoReader) && want != "":
			notify(fmt.Sprintf("waiting for the reader %q to be connected...", want))
		case errors.Is(waitErr, ErrNoReader):
			notify("waiting for a smart-card reader to be connected...")
		case errors.Is(waitErr, ErrNotJPKI):
			notify("the card in the reader is not a My Number Card; waiting for one...")
		default:
			notify("insert your My Number Card in the reader...")
		}
		if err := waitChange(ctx, sctx); err != nil {
			sctx.Release()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("card: stopped waiting for a card: %w (last: %v)", ctx.Err(), waitErr)
			}
			return nil, err
		}
	}
}

// waitChange waits up to pollInterval for a change in the readers, or
// until ctx ends.
func waitChange(ctx context.Context, sctx *scard.Context) error {
	stop := context.AfterFunc(ctx, func() { sctx.Cancel() })
	defer stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st, err := readerStatus(sctx)
	if err != nil {
		return err
	}
	states := []scard.ReaderState{{Reader: `\\?PnP?\Notification`, CurrentState: scard.StateUnaware}}
	for _, s := range st {
		cur := scard.StateEmpty
		if s.Present {
			cur = scard.StatePresent
		}
		states = append(states, scard.ReaderState{Reader: s.Name, CurrentState: cur})
	}
	// Learn the current state of the PnP pseudo-reader first, then wait.
	if err := sctx.GetStatusChange(states[:1], 0); err == nil {
		states[0].CurrentState = states[0].EventState
	}
	err = sctx.GetStatusChange(states, pollInterval)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err == nil, errors.Is(err, scard.ErrTimeout), errors.Is(err, scard.ErrCancelled),
		errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrNoReadersAvailable):
		return nil
	}
	return pcscError("waiting for a card", err)
}

// tryOpen looks once for the card. It returns the open card; or, when
// there is nothing to open yet, a nil card and the reason (ErrNoReader,
// ErrNoCard, ErrNotJPKI); or a hard error.
func tryOpen(sctx *scard.Context, want string) (conn *Conn, wait, err error) {
	readers, err := readerStatus(sctx)
	if err != nil {
		return nil, nil, err
	}
	if len(readers) == 0 {
		return nil, ErrNoReader, nil
	}
	var candidates []ReaderStatus
	if want != "" {
		r, err := matchReader(readers, want)
		if err != nil {
			return nil, err, nil
		}
		candidates = []ReaderStatus{r}
	} else {
		candidates = readers
	}
	wait = ErrNoCard
	if want != "" {
		wait = fmt.Errorf("%w %q", ErrNoCard, want)
	}
	for _, r := range candidates {
		if !r.Present {
			continue
		}
		c, err := connectRetry(sctx, r.Name)
		switch {
		case err == nil:
			return c, nil, nil
		case errors.Is(err, ErrNotJPKI):
			wait = err
		case errors.Is(err, ErrNoCard), errors.Is(err, ErrRemoved):
			// Gone between the status and the connection.
		default:
			return nil, nil, err
		}
	}
	return nil, wait, nil
}

// matchReader finds the reader named want: its exact name, else the one
// reader whose name contains want (case-insensitive).
func matchReader(readers []ReaderStatus, want string) (ReaderStatus, error) {
	var found []ReaderStatus
	for _, r := range readers {
		if r.Name == want {
			return r, nil
		}
		if strings.Contains(strings.ToLower(r.Name), strings.ToLower(want)) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		names := make([]string, len(readers))
		for i, r := range readers {
			names[i] = r.Name
		}
		return ReaderStatus{}, fmt.Errorf("%w named %q (readers: %s)", ErrNoReader, want, strings.Join(names, ", "))
	}
	return ReaderStatus{}, fmt.Errorf("card: several readers match %q: give the full name", want)
}

// connectRetry is connect, tried again a few times while the card seems to
// be away: while another program resets the card (as Sign does after
// signing), pcscd briefly reports the reader empty.
func connectRetry(sctx *scard.Context, reader string) (*Conn, error) {
	var err error
	for range 5 {
		var c *Conn
		if c, err = connect(sctx, reader); err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrNoCard) && !errors.Is(err, ErrRemoved) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

// connect connects to the card in reader and checks it has the JPKI AP.
func connect(sctx *scard.Context, reader string) (*Conn, error) {
	sc, err := sctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		return nil, pcscError("connecting to the card in "+reader, err)
	}
	c := &Conn{t: &pcscTransport{ctx: sctx, card: sc, reader: reader}, reader: reader}
	err = c.run(false, c.selectAP)
	if err != nil {
		c.t.(*pcscTransport).card.Disconnect(scard.LeaveCard)
		return nil, err
	}
	return c, nil
}
