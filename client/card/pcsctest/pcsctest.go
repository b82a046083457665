// Package pcsctest runs tests through the real PC/SC stack: pcscd with
// Debian's vsmartcard-vpcd driver, and a software card (package softcard)
// in the reader "Virtual PCD 00 00" through package vpcd.
//
// The vpcd port and pcscd are machine-wide, and `go test ./...` runs test
// binaries of different packages at once, so every test that uses them
// calls Setup first: it takes an exclusive flock on LockPath for the rest
// of the test (tests in other packages and processes queue), makes sure
// pcscd is running — starting `pcscd -f` if its socket does not answer,
// and stopping that pcscd by PID when the test ends — and that the vpcd
// driver is installed. A missing pcscd or driver fails the test with the
// Debian package to install; it never skips.
//
// A test talks only to the card it inserted: Setup and Emulate refuse a
// reader that already holds a card (another program connected to the vpcd
// port, say a `mykey card emulate` left running), and Emulate checks that
// the card pcscd then shows is the one it inserted.
package pcsctest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/mykeyledger/mykey/client/softcard"
	"github.com/mykeyledger/mykey/client/vpcd"
	"github.com/mykeyledger/mykey/internal/filelock"
	"github.com/mykeyledger/mykey/internal/syncbuf"
)

// LockPath is the machine-wide lock of pcscd and the vpcd port.
const LockPath = "/tmp/mykey-pcsc.lock"

// Reader is the reader of the first vpcd slot.
const Reader = "Virtual PCD 00 00"

// Addr is where the vpcd driver of Reader listens.
const Addr = vpcd.DefaultAddr

// Installation paths checked by Setup (Debian's packages).
const (
	ReaderConf = "/etc/reader.conf.d/vpcd"
	DriverPath = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
)

// SocketPath is pcsc-lite's socket; PCSCLITE_CSOCK_NAME overrides it, as
// it does for libpcsclite.
func SocketPath() string {
	if p := os.Getenv("PCSCLITE_CSOCK_NAME"); p != "" {
		return p
	}
	return "/run/pcscd/pcscd.comm"
}

// Setup takes the machine-wide lock and makes sure pcscd runs with the vpcd
// driver and shows Reader. Everything is undone when t ends.
func Setup(t testing.TB) {
	t.Helper()
	lock(t)
	pcscd := checkInstalled(t)
	if !serviceUp() {
		startPCSCD(t, pcscd)
	}
	waitReader(t, 15*time.Second)
	RequireEmpty(t)
}

// emptyGrace is how long RequireEmpty waits for a card to leave Reader: a
// card removed just before needs pcscd's polling to be seen gone.
const emptyGrace = 3 * time.Second

// RequireEmpty fails t unless Reader is empty (within emptyGrace): a card
// already there was not inserted by t, and a test using it would test
// whatever card that is.
func RequireEmpty(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(emptyGrace)
	for Present(t) {
		if time.Now().After(deadline) {
			t.Fatalf("pcsctest: the reader %q already holds a card this test did not insert: "+
				"another program is connected to the vpcd driver at %s (a `mykey card emulate` left running?); "+
				"stop it and run the test again", Reader, Addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lock(t testing.TB) {
	t.Helper()
	unlock, err := filelock.Lock(LockPath, 0o666)
	if err != nil {
		t.Fatalf("pcsctest: locking %s: %v", LockPath, err)
	}
	t.Cleanup(func() {
		// A pcscd that stays running (not started by this test) must see
		// the reader empty before the next test inserts a card.
		if serviceUp() {
			time.Sleep(removalDwell)
		}
		unlock()
	})
}

// checkInstalled fails t unless pcscd and the vpcd driver are installed,
// and returns the pcscd program.
func checkInstalled(t testing.TB) string {
	t.Helper()
	pcscd, err := exec.LookPath("pcscd")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/pcscd"); err2 != nil {
			t.Fatalf("pcsctest: pcscd is not installed: install the Debian package pcscd (apt-get install pcscd): %v", err)
		}
		pcscd = "/usr/sbin/pcscd"
	}
	conf, err := os.ReadFile(ReaderConf)
	if err != nil {
		t.Fatalf("pcsctest: the vpcd reader configuration is missing: install the Debian package vsmartcard-vpcd (apt-get install vsmartcard-vpcd): %v", err)
	}
	driver := DriverPath
	for _, line := range strings.Split(string(conf), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "LIBPATH" {
			driver = f[1]
		}
	}
	if _, err := os.Stat(driver); err != nil {
		t.Fatalf("pcsctest: the vpcd driver is missing: install the Debian package vsmartcard-vpcd: %v", err)
	}
	// CHANNELID 0x8C7B is port 35963, which Addr and DESIGN.md assume.
	if !bytes.Contains(conf, []byte("0x8C7B")) {
		t.Fatalf("pcsctest: %s does not put the vpcd reader on port 35963 (CHANNELID 0x8C7B):\n%s", ReaderConf, conf)
	}
	return pcscd
}

// serviceUp reports whether a pcscd answers.
func serviceUp() bool {
	if _, err := os.Stat(SocketPath()); err != nil {
		return false
	}
	ctx, err := scard.EstablishContext()
	if err != nil {
		return false
	}
	ctx.Release()
	return true
}

// startPCSCD starts `pcscd -f` and stops it by PID when t ends.
func startPCSCD(t testing.TB, program string) {
	t.Helper()
	args := []string{"-f"}
	if os.Getenv("PCSCTEST_DEBUG") != "" {
		args = append(args, "-d")
	}
	cmd := exec.Command(program, args...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("pcsctest: starting pcscd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !serviceUp() {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("pcsctest: pcscd -f exited (%v):\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcsctest: pcscd -f did not answer on %s within 15s:\n%s", SocketPath(), out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("pcsctest: started pcscd -f (pid %d)", cmd.Process.Pid)
	if os.Getenv("PCSCTEST_DEBUG") != "" {
		t.Cleanup(func() { t.Logf("pcscd output:\n%s", out) })
	}
}

// Readers lists the readers pcscd shows.
func Readers(t testing.TB) []string {
	t.Helper()
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatalf("pcsctest: EstablishContext: %v", err)
	}
	defer ctx.Release()
	names, err := ctx.ListReaders()
	if err != nil && !errors.Is(err, scard.ErrNoReadersAvailable) {
		t.Fatalf("pcsctest: ListReaders: %v", err)
	}
	return names
}

func waitReader(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		names := Readers(t)
		for _, n := range names {
			if n == Reader {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcsctest: pcscd does not show the reader %q (readers: %q): is vsmartcard-vpcd installed?", Reader, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Present reports whether pcscd sees a card in Reader.
func Present(t testing.TB) bool {
	t.Helper()
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatalf("pcsctest: EstablishContext: %v", err)
	}
	defer ctx.Release()
	st := []scard.ReaderState{{Reader: Reader, CurrentState: scard.StateUnaware}}
	if err := ctx.GetStatusChange(st, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		t.Fatalf("pcsctest: GetStatusChange: %v", err)
	}
	return st[0].EventState&scard.StatePresent != 0
}

// WaitPresent waits until pcscd sees a card in Reader (present) or sees
// none.
func WaitPresent(t testing.TB, present bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for Present(t) != present {
		if time.Now().After(deadline) {
			t.Fatalf("pcsctest: card present=%v in %q after 15s, want %v", !present, Reader, present)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Emulator is a software card in Reader.
type Emulator struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Emulate puts card into Reader (after Setup) and waits until pcscd sees
// it. Remove, or the end of t, takes it out. It fails t if Reader already
// holds a card, or if the card pcscd shows is not card: pcscd powers up a
// card it finds inserted, so card must have been powered on.
func Emulate(t testing.TB, card vpcd.Card) *Emulator {
	t.Helper()
	RequireEmpty(t)
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{cancel: cancel, done: make(chan struct{})}
	w := &witness{Card: card, powered: make(chan struct{})}
	go func() {
		defer close(e.done)
		vpcd.Serve(ctx, w, vpcd.Options{Addr: Addr, Retry: 50 * time.Millisecond, Logf: func(f string, a ...any) {
			if os.Getenv("PCSCTEST_DEBUG") != "" {
				t.Logf(f, a...)
			}
		}})
	}()
	t.Cleanup(e.stop)
	WaitPresent(t, true)
	select {
	case <-w.powered:
	case <-time.After(15 * time.Second):
		t.Fatalf("pcsctest: the reader %q shows a card, but pcscd never powered on the card this test inserted: "+
			"another program is connected to the vpcd driver at %s; stop it and run the test again", Reader, Addr)
	}
	return e
}

// witness is a card that tells when pcscd first powers it on (or resets
// it, or sends it an APDU: a card already powered).
type witness struct {
	vpcd.Card
	powered chan struct{}
	once    sync.Once
}

func (w *witness) seen() { w.once.Do(func() { close(w.powered) }) }

func (w *witness) PowerOn() { w.Card.PowerOn(); w.seen() }

func (w *witness) Reset() { w.Card.Reset(); w.seen() }

func (w *witness) Transmit(cmd []byte) []byte { w.seen(); return w.Card.Transmit(cmd) }

// EmulateFile puts the card file at path into Reader.
func EmulateFile(t testing.TB, path string) *Emulator {
	t.Helper()
	return Emulate(t, softcard.New(softcard.FileStore(path)))
}

// Remove takes the card out of the reader and waits until pcscd sees it
// gone.
func (e *Emulator) Remove(t testing.TB) {
	t.Helper()
	e.stop()
	WaitPresent(t, false)
}

// Cancel pulls the card without waiting; a card's Transmit may call it, so
// that the APDU being processed never gets its answer.
func (e *Emulator) Cancel() { e.cancel() }

func (e *Emulator) stop() {
	e.cancel()
	<-e.done
	// pcscd learns that a vpcd card is gone only when its polling thread
	// (every 400ms) finds no connection. A card put back before that is
	// never seen inserted again, so keep the slot empty for a while.
	e.once.Do(func() { time.Sleep(removalDwell) })
}

// removalDwell is how long a removed card stays out of the reader.
const removalDwell = 1200 * time.Millisecond
