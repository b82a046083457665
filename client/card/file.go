package card

import (
	"github.com/mykeyledger/mykey/client/softcard"
	"github.com/mykeyledger/mykey/internal/cardfile"
)

// OpenFile opens the software card file at path directly (TEST-ONLY: the
// key is in the file). The card speaks the same APDUs as through PC/SC;
// its PIN counter lives in the file, so a wrong PIN here counts on the
// card everywhere, and operations of several programs on one file queue.
func OpenFile(path string) (*Conn, error) {
	// Fail now, with the card file's own message, if it is not usable.
	if _, err := cardfile.Load(path); err != nil {
		return nil, err
	}
	sc := softcard.New(softcard.FileStore(path))
	t := &fileTransport{card: sc}
	sc.OnError = func(err error) { t.err = err }
	return &Conn{t: t, reader: "file:" + path}, nil
}

// fileTransport hands APDUs to a soft card in this process.
type fileTransport struct {
	card *softcard.Card
	err  error // the store error behind the last 6581, if any
}

func (f *fileTransport) transmit(cmd []byte) ([]byte, error) {
	f.err = nil
	resp := f.card.Transmit(cmd)
	if f.err != nil {
		return nil, f.err
	}
	return resp, nil
}

func (f *fileTransport) begin() error { return nil }

func (f *fileTransport) end(reset bool) {
	if reset {
		f.card.Reset()
	}
}

func (f *fileTransport) close() { f.card.PowerOff() }
