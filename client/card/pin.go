package card

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mykeyledger/mykey/internal/cardfile"
)

// ReadPIN asks for the 4-digit user-authentication PIN.
//
// With fromStdin (the --pin-stdin flag, for scripts) it reads one line from
// stdin. Otherwise it writes prompt to stderr and reads from the terminal
// without echo (stdin if it is a terminal, else /dev/tty); with no
// terminal it fails and points at --pin-stdin. The PIN is returned to the
// caller only: it is not logged or kept.
func ReadPIN(prompt string, fromStdin bool) (string, error) {
	if fromStdin {
		return ReadPINFrom(os.Stdin)
	}
	pin, err := readTerminal(prompt)
	if err != nil {
		return "", err
	}
	if !cardfile.IsAuthPIN(pin) {
		return "", ErrPINFormat
	}
	return pin, nil
}

// readLine reads one line, byte by byte so that nothing after it is
// consumed from r.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				break
			}
			b.WriteByte(c[0])
			if b.Len() > 64 {
				return "", errors.New("line too long")
			}
		}
		if err == io.EOF && b.Len() > 0 {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimRight(b.String(), "\r"), nil
}

func readTerminal(prompt string) (string, error) {
	fd := int(os.Stdin.Fd())
	var tty *os.File
	if !term.IsTerminal(fd) {
		f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return "", errors.New("card: no terminal to read the PIN from: use --pin-stdin to pass it on stdin")
		}
		defer f.Close()
		tty, fd = f, int(f.Fd())
	}
	out := os.Stderr
	if tty != nil {
		out = tty
	}
	fmt.Fprint(out, prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("card: reading the PIN: %w", err)
	}
	return strings.TrimSpace(string(p)), nil
}

// ReadPINFrom reads one line from r (stdin for --pin-stdin, or a cobra
// command's InOrStdin) and checks it is a 4-digit PIN. It reads nothing
// past the line.
func ReadPINFrom(r io.Reader) (string, error) {
	p, err := readLine(r)
	if err != nil {
		return "", fmt.Errorf("card: reading the PIN: %w", err)
	}
	if !cardfile.IsAuthPIN(p) {
		return "", ErrPINFormat
	}
	return p, nil
}
