package vpcd_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/client/vpcd"
)

// recCard records what the driver asked of it.
type recCard struct {
	mu     sync.Mutex
	events []string
}

func (c *recCard) log(s string) {
	c.mu.Lock()
	c.events = append(c.events, s)
	c.mu.Unlock()
}

func (c *recCard) Transmit(cmd []byte) []byte {
	c.log(fmt.Sprintf("apdu %X", cmd))
	return append(append([]byte(nil), cmd[1:]...), 0x90, 0x00) // echo without CLA
}
func (c *recCard) PowerOn()  { c.log("on") }
func (c *recCard) PowerOff() { c.log("off") }
func (c *recCard) Reset()    { c.log("reset") }

func (c *recCard) Events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events...)
}

// driver plays pcscd's vpcd driver: it listens, and talks to the card that
// connects.
type driver struct {
	t  *testing.T
	ln net.Listener
}

func newDriver(t *testing.T) *driver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &driver{t: t, ln: ln}
}

func (d *driver) accept() net.Conn {
	d.t.Helper()
	d.ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := d.ln.Accept()
	if err != nil {
		d.t.Fatalf("no card connected: %v", err)
	}
	d.t.Cleanup(func() { conn.Close() })
	return conn
}

func send(t *testing.T, conn net.Conn, msg []byte) {
	t.Helper()
	buf := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	if _, err := conn.Write(append(buf, msg...)); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [2]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		t.Fatal(err)
	}
	return msg
}

// serve runs Serve until the test ends; done receives its result.
func serve(t *testing.T, card vpcd.Card, opts vpcd.Options) (cancel func(), done chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- vpcd.Serve(ctx, card, opts)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return cancel, done
}

func TestProtocol(t *testing.T) {
	d := newDriver(t)
	card := &recCard{}
	serve(t, card, vpcd.Options{Addr: d.ln.Addr().String()})
	conn := d.accept()

	send(t, conn, []byte{vpcd.CtrlPowerOn})
	send(t, conn, []byte{vpcd.CtrlGetATR})
	if got := recv(t, conn); !bytes.Equal(got, vpcd.DefaultATR) {
		t.Fatalf("ATR % X, want % X", got, vpcd.DefaultATR)
	}
	send(t, conn, apdu.SelectAP())
	if got, want := recv(t, conn), append(apdu.SelectAP()[1:], 0x90, 0x00); !bytes.Equal(got, want) {
		t.Fatalf("APDU reply % X, want % X", got, want)
	}
	send(t, conn, []byte{vpcd.CtrlReset}) // no reply
	send(t, conn, []byte{0x00, 0xB0})     // 2 bytes: an APDU, not control
	if got := recv(t, conn); !bytes.Equal(got, []byte{0xB0, 0x90, 0x00}) {
		t.Fatalf("reply % X: a reset was answered, or a 2-byte APDU taken for control", got)
	}
	send(t, conn, []byte{0x07}) // unknown 1-byte message
	if got := recv(t, conn); !bytes.Equal(got, []byte{0x67, 0x00}) {
		t.Fatalf("unknown control byte answered % X, want 6700", got)
	}
	big := make([]byte, 300) // longer than 255: the length needs both bytes
	big[1] = 0x42
	send(t, conn, big)
	if got := recv(t, conn); len(got) != 301 {
		t.Fatalf("reply to a 300-byte message is %d bytes, want 301", len(got))
	}
	send(t, conn, []byte{vpcd.CtrlPowerOff})
	send(t, conn, []byte{vpcd.CtrlGetATR})
	recv(t, conn)
	want := []string{"on", "apdu " + fmt.Sprintf("%X", apdu.SelectAP()), "reset", "apdu 00B0", "apdu " + fmt.Sprintf("%X", big), "off"}
	if got := card.Events(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("card saw %q, want %q", got, want)
	}
}

func TestCustomATR(t *testing.T) {
	d := newDriver(t)
	atr := []byte{0x3B, 0x02, 0x14, 0x50}
	serve(t, &recCard{}, vpcd.Options{Addr: d.ln.Addr().String(), ATR: atr})
	conn := d.accept()
	send(t, conn, []byte{vpcd.CtrlGetATR})
	if got := recv(t, conn); !bytes.Equal(got, atr) {
		t.Fatalf("ATR % X, want % X", got, atr)
	}
}

// Cancelling removes the card: the connection closes, Serve returns nil,
// the card is powered off.
func TestCancelRemovesCard(t *testing.T) {
	d := newDriver(t)
	card := &recCard{}
	cancel, done := serve(t, card, vpcd.Options{Addr: d.ln.Addr().String()})
	conn := d.accept()
	send(t, conn, []byte{vpcd.CtrlPowerOn})
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("driver side after cancel: %v, want EOF (card removed)", err)
	}
	if ev := card.Events(); ev[len(ev)-1] != "off" {
		t.Fatalf("card events %q: not powered off at removal", ev)
	}
}

// A card pulled while it works on an APDU never answers it.
type pullCard struct {
	recCard
	cancel func()
}

func (c *pullCard) Transmit(cmd []byte) []byte {
	c.cancel()
	return []byte{0x90, 0x00}
}

func TestCancelDuringAPDU(t *testing.T) {
	d := newDriver(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	card := &pullCard{cancel: cancel}
	done := make(chan error, 1)
	go func() { done <- vpcd.Serve(ctx, card, vpcd.Options{Addr: d.ln.Addr().String()}) }()
	conn := d.accept()
	send(t, conn, apdu.SelectAP())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(make([]byte, 16))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("driver read %d bytes, %v: want no answer and EOF", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Without pcscd Serve says what to do, once, and connects when the driver
// appears; when the driver goes away it reconnects.
func TestReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	var mu sync.Mutex
	var logs []string
	connects := make(chan struct{}, 10)
	serve(t, &recCard{}, vpcd.Options{
		Addr:      addr,
		Retry:     20 * time.Millisecond,
		Logf:      func(f string, a ...any) { mu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); mu.Unlock() },
		OnConnect: func() { connects <- struct{}{} },
	})
	time.Sleep(200 * time.Millisecond) // about ten failed attempts
	mu.Lock()
	if len(logs) != 1 || !strings.Contains(logs[0], "pcscd -f") || !strings.Contains(logs[0], addr) {
		t.Errorf("while pcscd is away: %q, want one message saying to start pcscd", logs)
	}
	mu.Unlock()

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, ln: ln}
	t.Cleanup(func() { ln.Close() })
	conn := d.accept()
	<-connects
	send(t, conn, []byte{vpcd.CtrlGetATR})
	recv(t, conn)
	conn.Close() // pcscd stopped
	conn = d.accept()
	<-connects
	send(t, conn, []byte{vpcd.CtrlGetATR})
	if got := recv(t, conn); !bytes.Equal(got, vpcd.DefaultATR) {
		t.Fatalf("after reconnecting: ATR % X", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(logs, "\n"), "reconnecting") {
		t.Errorf("logs %q do not mention the reconnection", logs)
	}
}

func TestBadFraming(t *testing.T) {
	d := newDriver(t)
	_, done := serve(t, &recCard{}, vpcd.Options{Addr: d.ln.Addr().String(), Retry: time.Hour})
	conn := d.accept()
	conn.Write([]byte{0x00, 0x00}) // an empty message is not in the protocol
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after an empty message: %v, want the card to hang up", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v; it must keep trying to reconnect", err)
	default:
	}
}
