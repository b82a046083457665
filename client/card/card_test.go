package card_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/client/card"
	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/client/card/pcsctest"
	"github.com/mykeyledger/mykey/client/softcard"
	"github.com/mykeyledger/mykey/client/vpcd"
	"github.com/mykeyledger/mykey/internal/cardfile"
)

var signBytes = []byte("mykey/link chain=test-1 program=p1 provider=paypay expiry=2025-01-01")

// signerSuite is the conformance suite every way of opening a card passes:
// open(t) opens the card stored in path.
func signerSuite(t *testing.T, open func(t *testing.T) card.Signer, path string, want *cardfile.Card) {
	t.Run("certificate", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		der, err := s.Certificate()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, want.Certificate) {
			t.Fatalf("certificate read from the card (%d bytes) differs from the card file's (%d bytes)", len(der), len(want.Certificate))
		}
	})
	t.Run("sign", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		der, err := s.Certificate()
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // twice on one connection: the reset in between must not hurt
			sig, err := s.Sign(signBytes, "1234")
			if err != nil {
				t.Fatalf("sign %d: %v", i, err)
			}
			if err := jpki.VerifySignature(cert, signBytes, sig); err != nil {
				t.Fatalf("sign %d: signature does not verify: %v", i, err)
			}
		}
	})
	t.Run("bad PIN format asks no card", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		for _, pin := range []string{"", "123", "12345", "12a4"} {
			if _, err := s.Sign(signBytes, pin); !errors.Is(err, card.ErrPINFormat) {
				t.Errorf("PIN %q: %v, want ErrPINFormat", pin, err)
			}
		}
		if c, _ := cardfile.Load(path); c.TriesLeft != 3 {
			t.Errorf("a malformed PIN cost a try: %d left", c.TriesLeft)
		}
	})
	t.Run("wrong PIN then right PIN", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		_, err := s.Sign(signBytes, "9999")
		var wrong *card.WrongPINError
		if !errors.As(err, &wrong) || wrong.TriesLeft != 2 {
			t.Fatalf("wrong PIN: %v, want WrongPINError with 2 tries left", err)
		}
		if !strings.Contains(err.Error(), "2 tries left") {
			t.Errorf("message %q does not say how many tries are left", err)
		}
		if c, ok := s.(*card.Conn); ok {
			if n, err := c.TriesLeft(); err != nil || n != 2 {
				t.Errorf("TriesLeft = %d, %v; want 2", n, err)
			}
		}
		if _, err := s.Sign(signBytes, "1234"); err != nil {
			t.Fatalf("right PIN after a wrong one: %v", err)
		}
		if c, _ := cardfile.Load(path); c.TriesLeft != 3 {
			t.Errorf("the right PIN did not restore the tries: %d", c.TriesLeft)
		}
	})
	t.Run("three wrong PINs block the card", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		before, _ := cardfile.Load(path)
		var wrong *card.WrongPINError
		for want := 2; want >= 1; want-- {
			if _, err := s.Sign(signBytes, "0000"); !errors.As(err, &wrong) || wrong.TriesLeft != want {
				t.Fatalf("wrong PIN: %v, want %d tries left", err, want)
			}
		}
		if _, err := s.Sign(signBytes, "0000"); !errors.Is(err, card.ErrBlocked) {
			t.Fatalf("third wrong PIN: %v, want ErrBlocked", err)
		}
		_, err := s.Sign(signBytes, "1234")
		if !errors.Is(err, card.ErrBlocked) {
			t.Fatalf("right PIN on a blocked card: %v, want ErrBlocked", err)
		}
		if !strings.Contains(err.Error(), "blocked") {
			t.Errorf("message %q does not say blocked", err)
		}
		if c, ok := s.(*card.Conn); ok {
			if n, err := c.TriesLeft(); err != nil || n != 0 {
				t.Errorf("TriesLeft on a blocked card = %d, %v", n, err)
			}
		}
		after, _ := cardfile.Load(path)
		if !after.Blocked() || after.Signatures != before.Signatures {
			t.Fatalf("blocked=%v, signatures %d -> %d: want blocked and nothing signed", after.Blocked(), before.Signatures, after.Signatures)
		}
		// Unblock for whoever comes next.
		if err := cardfile.Update(path, func(c *cardfile.Card) error { c.TriesLeft = 3; return nil }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFileSigner(t *testing.T) {
	path, c := pcsctest.NewCardFile(t, "1234")
	signerSuite(t, func(t *testing.T) card.Signer {
		s, err := card.Open("file:" + path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Reader() != "file:"+path {
			t.Errorf("Reader() = %q", s.Reader())
		}
		return s
	}, path, c)
}

func TestOpenSpecs(t *testing.T) {
	for _, spec := range []string{"bogus", "file:", "pcsc:", "usb:x"} {
		if _, err := card.Open(spec); err == nil || !strings.Contains(err.Error(), "pcsc, pcsc:READER or file:PATH") {
			t.Errorf("Open(%q): %v", spec, err)
		}
	}
	_, err := card.Open("file:/nonexistent/card.json")
	if !errors.Is(err, cardfile.ErrNotFound) {
		t.Errorf("Open of a missing card file: %v", err)
	}
}

// Through pcscd, the vpcd driver and the emulator: everything the file
// signer does, plus the reader list.
func TestPCSCSigner(t *testing.T) {
	pcsctest.Setup(t)
	path, c := pcsctest.NewCardFile(t, "1234")
	pcsctest.EmulateFile(t, path)

	readers, err := card.ListReaders()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range readers {
		if r.Name == pcsctest.Reader {
			found = true
			if !r.Present || !bytes.Equal(r.ATR, softcard.ATR) {
				t.Errorf("reader %q: present=%v ATR % X; want the soft card's ATR % X", r.Name, r.Present, r.ATR, softcard.ATR)
			}
		}
	}
	if !found {
		t.Fatalf("ListReaders = %+v, want %q", readers, pcsctest.Reader)
	}
	for _, spec := range []string{"pcsc", "pcsc:" + pcsctest.Reader, "pcsc:virtual pcd 00 00"} {
		t.Run(spec, func(t *testing.T) {
			signerSuite(t, func(t *testing.T) card.Signer {
				s, err := card.Open(spec)
				if err != nil {
					t.Fatal(err)
				}
				if s.Reader() != pcsctest.Reader {
					t.Errorf("Reader() = %q", s.Reader())
				}
				return s
			}, path, c)
		})
	}
}

// Two programs signing on one card at once: their operations queue (one
// PC/SC transaction each), none fails, the card counts every signature.
func TestPCSCConcurrentSigners(t *testing.T) {
	pcsctest.Setup(t)
	path, _ := pcsctest.NewCardFile(t, "1234")
	pcsctest.EmulateFile(t, path)
	const signers, each = 3, 4
	var wg sync.WaitGroup
	errs := make(chan error, signers*each)
	for range signers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := card.Open("pcsc")
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for range each {
				if _, err := s.Sign(signBytes, "1234"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c, _ := cardfile.Load(path); c.Signatures != signers*each {
		t.Errorf("card made %d signatures, want %d", c.Signatures, signers*each)
	}
}

// pullOn is a soft card that is pulled from the reader when it receives a
// command with the given instruction byte, before answering it.
type pullOn struct {
	*softcard.Card
	ins  byte
	pull func()
	once sync.Once
}

func (p *pullOn) Transmit(cmd []byte) []byte {
	if len(cmd) > 1 && cmd[1] == p.ins {
		p.once.Do(p.pull)
	}
	return p.Card.Transmit(cmd)
}

func TestPCSCCardRemoved(t *testing.T) {
	pcsctest.Setup(t)
	for _, tt := range []struct {
		name string
		ins  byte
		op   func(s *card.Conn) error
	}{
		{"during SIGN", apdu.InsSign, func(s *card.Conn) error { _, err := s.Sign(signBytes, "1234"); return err }},
		{"during VERIFY", apdu.InsVerify, func(s *card.Conn) error { _, err := s.Sign(signBytes, "1234"); return err }},
		{"during READ BINARY", apdu.InsReadBinary, func(s *card.Conn) error { _, err := s.Certificate(); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := pcsctest.NewCardFile(t, "1234")
			sc := &pullOn{Card: softcard.New(softcard.FileStore(path)), ins: tt.ins}
			// The emulator reaches the card through pcscd, which the race
			// detector cannot see: hand it over through a channel.
			emu := make(chan *pcsctest.Emulator, 1)
			sc.pull = func() { (<-emu).Cancel() }
			emu <- pcsctest.Emulate(t, sc)
			s, err := card.Open("pcsc:" + pcsctest.Reader)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			done := make(chan error, 1)
			go func() { done <- tt.op(s) }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the operation hangs after the card was removed")
			}
			if !errors.Is(err, card.ErrRemoved) {
				t.Fatalf("card removed %s: %v, want ErrRemoved", tt.name, err)
			}
			if !strings.Contains(err.Error(), "put it back and try again") {
				t.Errorf("message %q does not say what to do", err)
			}
			// Later operations on the stale handle fail the same way.
			if _, err := s.Sign(signBytes, "1234"); !errors.Is(err, card.ErrRemoved) {
				t.Errorf("sign after removal: %v, want ErrRemoved", err)
			}
			if tt.ins == apdu.InsVerify {
				if c, _ := cardfile.Load(path); c.Signatures != 0 {
					t.Errorf("the card signed %d times although it was pulled at VERIFY", c.Signatures)
				}
			}
		})
	}
}

func TestPCSCNoCard(t *testing.T) {
	pcsctest.Setup(t)
	pcsctest.WaitPresent(t, false)
	if _, err := card.Open("pcsc"); !errors.Is(err, card.ErrNoCard) {
		t.Errorf("Open(pcsc) with empty readers: %v, want ErrNoCard", err)
	}
	if _, err := card.Open("pcsc:" + pcsctest.Reader); !errors.Is(err, card.ErrNoCard) {
		t.Errorf("Open(pcsc:%s) with no card: %v, want ErrNoCard", pcsctest.Reader, err)
	}
	_, err := card.Open("pcsc:No Such Reader")
	if !errors.Is(err, card.ErrNoReader) || !strings.Contains(err.Error(), pcsctest.Reader) {
		t.Errorf("Open of an unknown reader: %v, want ErrNoReader listing the readers", err)
	}
	if _, err := card.Open("pcsc:Virtual PCD"); err == nil || !strings.Contains(err.Error(), "several readers") {
		t.Errorf("Open of an ambiguous reader name: %v", err)
	}
}

// OpenContext with Wait waits for the card, telling the user so.
func TestPCSCWaitForCard(t *testing.T) {
	pcsctest.Setup(t)
	path, _ := pcsctest.NewCardFile(t, "1234")
	var mu sync.Mutex
	var msgs []string
	go func() {
		time.Sleep(700 * time.Millisecond)
		pcsctest.EmulateFile(t, path)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := card.OpenContext(ctx, "pcsc", card.OpenOptions{Wait: true, Notify: func(m string) {
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Certificate(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "insert your My Number Card") {
		t.Errorf("messages while waiting: %q, want one asking to insert the card", msgs)
	}

	// Waiting ends with the context.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if _, err := card.OpenContext(ctx2, "pcsc:"+pcsctest.Reader[:len(pcsctest.Reader)-1]+"1", card.OpenOptions{Wait: true}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting on an empty reader until the deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waiting ended %v after the deadline", d)
	}
}

// A card without the JPKI AP is not taken for a My Number Card.
type notJPKI struct{}

func (notJPKI) Transmit([]byte) []byte { return apdu.SWFileNotFound.Bytes() }
func (notJPKI) PowerOn()               {}
func (notJPKI) PowerOff()              {}
func (notJPKI) Reset()                 {}

func TestPCSCNotJPKI(t *testing.T) {
	pcsctest.Setup(t)
	pcsctest.Emulate(t, &notJPKI{})
	if _, err := card.Open("pcsc"); !errors.Is(err, card.ErrNotJPKI) {
		t.Errorf("Open of a non-JPKI card: %v, want ErrNotJPKI", err)
	}
}

// pcscd not running: the error says how to start it. libpcsclite reads
// PCSCLITE_CSOCK_NAME once, so this runs in a child process.
func TestNoService(t *testing.T) {
	if os.Getenv("CARD_TEST_NO_SERVICE") == "1" {
		_, err := card.Open("pcsc")
		if !errors.Is(err, card.ErrNoService) {
			t.Fatalf("Open without pcscd: %v, want ErrNoService", err)
		}
		if !strings.Contains(err.Error(), "pcscd -f") {
			t.Fatalf("message %q does not say how to start pcscd", err)
		}
		_, err = card.ListReaders()
		if !errors.Is(err, card.ErrNoService) {
			t.Fatalf("ListReaders without pcscd: %v, want ErrNoService", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoService$", "-test.v")
	cmd.Env = append(os.Environ(), "CARD_TEST_NO_SERVICE=1", "PCSCLITE_CSOCK_NAME="+t.TempDir()+"/no-pcscd.comm")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNoService")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// JPKI middleware reads the tries left of both PINs (an empty VERIFY on
// EF 0018 and EF 001B) before it uses a card, and gives up on a 6984. The
// emulated card answers both as an adult's card does, through pcscd, also
// when its card file has no signing side (as the test cards do).
func TestPCSCBothPINsAnswerTries(t *testing.T) {
	pcsctest.Setup(t)
	path, _ := pcsctest.NewCardFile(t, "1234")
	pcsctest.EmulateFile(t, path)
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	c, err := ctx.Connect(pcsctest.Reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(scard.ResetCard)
	for _, s := range []struct {
		cmd  []byte
		want apdu.SW
	}{
		{apdu.SelectAP(), apdu.SWOK},
		{apdu.SelectEF(apdu.EFAuthPIN), apdu.SWOK},
		{apdu.Verify(nil), apdu.VerifyFailed(cardfile.AuthPINTries)},
		{apdu.SelectEF(apdu.EFSignPIN), apdu.SWOK},
		{apdu.Verify(nil), apdu.VerifyFailed(cardfile.SignPINTries)},
	} {
		resp, err := c.Transmit(s.cmd)
		if err != nil {
			t.Fatalf("% X: %v", s.cmd, err)
		}
		if _, sw, err := apdu.Split(resp); err != nil || sw != s.want {
			t.Fatalf("% X: answered % X, want %v", s.cmd, resp, s.want)
		}
	}
}

// fatalRecorder is a testing.TB whose Fatal records the message and ends
// the goroutine, so that a test can assert that a helper refuses.
type fatalRecorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatal(args ...any) { f.record(fmt.Sprint(args...)) }

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }

func (f *fatalRecorder) record(msg string) {
	f.mu.Lock()
	f.msg = msg
	f.mu.Unlock()
	runtime.Goexit()
}

// refusal runs fn and returns the message it failed with, "" if it did not.
func refusal(t *testing.T, fn func(testing.TB)) string {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

// A card some other program put in the virtual reader is never what a
// test talks to: inserting the test's card, and the check Setup makes,
// refuse with a message saying what is wrong.
func TestPCSCForeignCardRefused(t *testing.T) {
	pcsctest.Setup(t)
	foreign := softcard.New(softcard.NewMemStore(pcsctest.NewCard(t, "5678")))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		vpcd.Serve(ctx, foreign, vpcd.Options{Addr: pcsctest.Addr, Retry: 50 * time.Millisecond})
	}()
	defer func() {
		cancel()
		<-served
		pcsctest.WaitPresent(t, false)
	}()
	pcsctest.WaitPresent(t, true)

	path, _ := pcsctest.NewCardFile(t, "1234")
	for _, tt := range []struct {
		name string
		fn   func(testing.TB)
	}{
		{"Emulate", func(tb testing.TB) { pcsctest.EmulateFile(tb, path) }},
		{"RequireEmpty", pcsctest.RequireEmpty},
	} {
		msg := refusal(t, tt.fn)
		if !strings.Contains(msg, "already holds a card this test did not insert") || !strings.Contains(msg, pcsctest.Reader) {
			t.Errorf("%s with a foreign card in the reader: failure %q, want a refusal naming the reader", tt.name, msg)
		}
	}
	// The foreign card is still the one in the reader, untouched.
	s, err := card.Open("pcsc")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Sign(signBytes, "5678"); err != nil {
		t.Fatalf("the foreign card: %v", err)
	}
	if c, _ := cardfile.Load(path); c.Signatures != 0 || c.TriesLeft != cardfile.AuthPINTries {
		t.Errorf("the test's card file was used: %d signatures, %d tries", c.Signatures, c.TriesLeft)
	}
}
