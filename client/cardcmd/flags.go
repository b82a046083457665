package cardcmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/client/card"
)

// DefaultCard is the default of --card: the first reader holding a card.
const DefaultCard = "pcsc"

// CardUsage is the help text of --card.
const CardUsage = "the card: pcsc (first reader holding a card), pcsc:READER, " +
	"or file:PATH (a software card file; TEST-ONLY, its key is not protected)"

// CardFlags are the flags of a command that uses the card.
type CardFlags struct {
	Spec     string        // --card
	PINStdin bool          // --pin-stdin
	Wait     time.Duration // --card-wait: how long to wait for a reader and card
}

// Register adds --card, --pin-stdin and --card-wait to fs.
func (f *CardFlags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Spec, "card", DefaultCard, CardUsage)
	fs.BoolVar(&f.PINStdin, "pin-stdin", false, "read the PIN from the first line of stdin instead of the terminal (for scripts)")
	fs.DurationVar(&f.Wait, "card-wait", time.Minute, "how long to wait for a reader and a card (0: do not wait)")
}

// Open opens the card, waiting up to f.Wait for one and telling the user
// on stderr while it waits.
func (f *CardFlags) Open(ctx context.Context, stderr io.Writer) (*card.Conn, error) {
	return openCard(ctx, f.Spec, f.Wait, stderr)
}

func openCard(ctx context.Context, spec string, wait time.Duration, stderr io.Writer) (*card.Conn, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	opts := card.OpenOptions{Notify: func(msg string) { fmt.Fprintln(stderr, msg) }}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
		opts.Wait = true
	}
	return card.OpenContext(ctx, spec, opts)
}

// ReadPIN reads the 4-digit PIN: from stdin with --pin-stdin, else from the
// terminal without echo, prompting on stderr.
func (f *CardFlags) ReadPIN(stdin io.Reader) (string, error) {
	if f.PINStdin {
		return card.ReadPINFrom(stdin)
	}
	return card.ReadPIN("PIN for user authentication (4 digits): ", false)
}

// Sign is the whole card step of a signing command: open the card, read
// its certificate, read the PIN, sign signBytes, close the card. It returns
// the certificate DER and the signature.
func (f *CardFlags) Sign(ctx context.Context, signBytes []byte, stdin io.Reader, stderr io.Writer) (cert, sig []byte, err error) {
	c, err := f.Open(ctx, stderr)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if cert, err = c.Certificate(); err != nil {
		return nil, nil, err
	}
	pin, err := f.ReadPIN(stdin)
	if err != nil {
		return nil, nil, err
	}
	if sig, err = c.Sign(signBytes, pin); err != nil {
		return nil, nil, err
	}
	return cert, sig, nil
}
