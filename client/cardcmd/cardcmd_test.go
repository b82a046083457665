package cardcmd

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/client/card"
	"github.com/mykeyledger/mykey/client/card/pcsctest"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

// run executes cmd with args and returns its stdout and stderr.
func run(t *testing.T, ctx context.Context, cmd *cobra.Command, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// newCard makes a test CA and a card file with `testca init` and `testca
// issue` and returns the CA directory and the card file.
func newCard(t *testing.T) (caDir, cardPath string) {
	t.Helper()
	dir := t.TempDir()
	caDir, cardPath = filepath.Join(dir, "ca"), filepath.Join(dir, "card.json")
	if _, _, err := run(t, context.Background(), NewTestCACmd(), "", "init", "--out", caDir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, context.Background(), NewTestCACmd(), "", "issue", "--ca", caDir, "--out", cardPath); err != nil {
		t.Fatal(err)
	}
	return caDir, cardPath
}

func TestTestCA(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	out, stderr, err := run(t, context.Background(), NewTestCACmd(), "", "init", "--out", caDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "-----BEGIN CERTIFICATE-----") || !strings.Contains(stderr, "trust anchor") {
		t.Errorf("init printed %q / %q", out, stderr)
	}
	if fi, err := os.Stat(filepath.Join(caDir, testca.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key: %v, %v; want mode 0600", fi, err)
	}
	if _, _, err := run(t, context.Background(), NewTestCACmd(), "", "init", "--out", caDir); err == nil || !strings.Contains(err.Error(), "already holds a test CA") {
		t.Errorf("second init in one directory: %v", err)
	}

	// The CA is a trust anchor as genesis takes it, and JPKI-shaped.
	pemBytes, err := os.ReadFile(filepath.Join(caDir, testca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	anchors, err := jpki.ParseTrustAnchors(pemBytes)
	if err != nil {
		t.Fatalf("the test CA is not a valid trust anchor: %v", err)
	}
	wantName := "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for user authentication,O=JPKI-TEST,C=JP"
	if got := nameString(anchors[0].RawSubject); got != wantName {
		t.Errorf("CA subject %q, want %q", got, wantName)
	}
	if anchors[0].PublicKey.(interface{ Size() int }).Size() != 256 {
		t.Error("CA key is not RSA-2048")
	}

	cardPath := filepath.Join(dir, "card.json")
	out, _, err = run(t, context.Background(), NewTestCACmd(), "", "issue", "--ca", caDir, "--out", cardPath, "--pin", "4321", "--json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cardfile.Load(cardPath)
	if err != nil {
		t.Fatal(err)
	}
	if c.PIN != "4321" || c.TriesLeft != 3 || !bytes.Equal(c.CACertificate, anchors[0].Raw) {
		t.Errorf("card: PIN %q, %d tries, CA matches=%v", c.PIN, c.TriesLeft, bytes.Equal(c.CACertificate, anchors[0].Raw))
	}
	v, err := jpki.NewVerifier(anchors)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := v.VerifyCertificate(c.Certificate, time.Now())
	if err != nil {
		t.Fatalf("the ledger would refuse the issued card: %v", err)
	}
	if cert.Subject.Country[0] != "JP" || len(cert.Subject.CommonName) != 32 || len(cert.Subject.Organization) != 0 {
		t.Errorf("card subject %v: want C=JP and an opaque CN only", cert.Subject)
	}
	var js struct {
		File, Fingerprint string
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("issue --json: %v\n%s", err, out)
	}
	if js.File != cardPath || js.Fingerprint != jpki.IDOf(cert).Fingerprint() {
		t.Errorf("issue --json = %s", out)
	}

	// Refusals.
	for _, args := range [][]string{
		{"issue", "--ca", caDir, "--out", cardPath},                                      // exists
		{"issue", "--ca", caDir, "--out", filepath.Join(dir, "c2.json"), "--pin", "12"},  // short PIN
		{"issue", "--ca", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "c3")}, // no CA
		{"issue", "--out", filepath.Join(dir, "c4")},                                     // no --ca
	} {
		if _, _, err := run(t, context.Background(), NewTestCACmd(), "", args...); err == nil {
			t.Errorf("testca %q succeeded", args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "c2.json")); err == nil {
		t.Error("a refused issue left a card file")
	}
}

func TestInfoFile(t *testing.T) {
	_, path := newCard(t)
	c, _ := cardfile.Load(path)
	cert, _ := x509.ParseCertificate(c.Certificate)
	var looked *x509.Certificate
	lookup := func(_ context.Context, cert *x509.Certificate) (string, error) {
		looked = cert
		return "7K3M9QXA", nil
	}
	out, _, err := run(t, context.Background(), NewCardCmd(lookup), "", "info", "--card", "file:"+path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var info Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if info.Reader != "file:"+path || info.Fingerprint != jpki.IDOf(cert).Fingerprint() ||
		info.TriesLeft != 3 || info.MyKeyID != "7K3M9QXA" || info.Serial == "" {
		t.Errorf("info = %+v", info)
	}
	if looked == nil || !bytes.Equal(looked.Raw, c.Certificate) {
		t.Error("the lookup hook did not get the card's certificate")
	}

	// Human output, a blocked card, a failing lookup.
	if err := cardfile.Update(path, func(c *cardfile.Card) error { c.TriesLeft = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	failing := func(context.Context, *x509.Certificate) (string, error) { return "", errors.New("node unreachable") }
	out, stderr, err := run(t, context.Background(), NewInfoCmd(failing), "", "--card", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reader:      file:" + path, "fingerprint: " + info.Fingerprint, "PIN:         BLOCKED"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "node unreachable") || strings.Contains(out, "MyKey ID") {
		t.Errorf("failed lookup: stdout %q stderr %q", out, stderr)
	}
	out, _, _ = run(t, context.Background(), NewInfoCmd(func(context.Context, *x509.Certificate) (string, error) { return "", nil }), "", "--card", "file:"+path)
	if !strings.Contains(out, "MyKey ID:    none yet") {
		t.Errorf("no MyKey ID yet:\n%s", out)
	}
	if _, _, err := run(t, context.Background(), NewInfoCmd(nil), "", "--card", "file:"+filepath.Join(t.TempDir(), "x")); !errors.Is(err, cardfile.ErrNotFound) {
		t.Errorf("info on a missing card file: %v", err)
	}
}

func TestCardFlagsFile(t *testing.T) {
	_, path := newCard(t)
	var f CardFlags
	cmd := &cobra.Command{}
	f.Register(cmd.Flags())
	if err := cmd.Flags().Parse([]string{"--card", "file:" + path, "--pin-stdin"}); err != nil {
		t.Fatal(err)
	}
	der, sig, err := f.Sign(context.Background(), []byte("sign me"), strings.NewReader("1234\n"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := jpki.VerifySignature(cert, []byte("sign me"), sig); err != nil {
		t.Fatal(err)
	}
	var wrong *card.WrongPINError
	if _, _, err := f.Sign(context.Background(), []byte("x"), strings.NewReader("0000\n"), io.Discard); !errors.As(err, &wrong) || wrong.TriesLeft != 2 {
		t.Fatalf("wrong PIN on stdin: %v", err)
	}
	if _, _, err := f.Sign(context.Background(), []byte("x"), strings.NewReader("12\n"), io.Discard); !errors.Is(err, card.ErrPINFormat) {
		t.Fatalf("short PIN on stdin: %v", err)
	}
	if c, _ := cardfile.Load(path); c.TriesLeft != 2 {
		t.Fatalf("tries %d, want 2", c.TriesLeft)
	}
}

func TestEmulateRefusesBadCard(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, context.Background(), NewEmulateCmd(), "", "--card", filepath.Join(dir, "none")); !errors.Is(err, cardfile.ErrNotFound) {
		t.Errorf("emulate of a missing card: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "junk"), []byte("junk"), 0o600)
	if _, _, err := run(t, context.Background(), NewEmulateCmd(), "", "--card", filepath.Join(dir, "junk")); !errors.Is(err, cardfile.ErrNotCardFile) {
		t.Errorf("emulate of a junk file: %v", err)
	}
}

// The commands through the real stack: `card emulate` puts the card in
// the virtual reader, `card info` and a signing command find it there.
func TestEmulateThroughPCSCD(t *testing.T) {
	pcsctest.Setup(t)
	_, path := newCard(t)
	c, _ := cardfile.Load(path)
	cert, _ := x509.ParseCertificate(c.Certificate)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var emuErr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		cmd := NewCardCmd(nil)
		cmd.SetArgs([]string{"emulate", "--card", path, "--vpcd", pcsctest.Addr})
		cmd.SetOut(io.Discard)
		cmd.SetErr(&lockedWriter{w: &emuErr})
		done <- cmd.ExecuteContext(ctx)
	}()
	pcsctest.WaitPresent(t, true)

	out, _, err := run(t, context.Background(), NewCardCmd(nil), "", "info", "--card", "pcsc", "--json", "--card-wait", "10s")
	if err != nil {
		t.Fatal(err)
	}
	var info Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Reader != pcsctest.Reader || info.Fingerprint != jpki.IDOf(cert).Fingerprint() || info.TriesLeft != 3 {
		t.Errorf("info through pcscd = %+v", info)
	}

	f := CardFlags{Spec: "pcsc:" + pcsctest.Reader, PINStdin: true, Wait: 10 * time.Second}
	_, sig, err := f.Sign(context.Background(), []byte("link"), strings.NewReader("1234\n"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpki.VerifySignature(cert, []byte("link"), sig); err != nil {
		t.Fatal(err)
	}

	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("emulate after interrupt: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulate did not stop")
	}
	pcsctest.WaitPresent(t, false)
	if _, _, err := run(t, context.Background(), NewInfoCmd(nil), "", "--card", "pcsc", "--card-wait", "0"); !errors.Is(err, card.ErrNoCard) {
		t.Errorf("info after the card was removed: %v, want ErrNoCard", err)
	}
	if s := emuErr.String(); !strings.Contains(s, info.Fingerprint) || !strings.Contains(s, "card removed") {
		t.Errorf("emulate messages: %q", s)
	}
}
