package softcard

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/client/card/apdu"
	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

var (
	fixtureOnce sync.Once
	fixture     *cardfile.Card
	signSide    *cardfile.Card
)

// testCards returns a card without and one with a signing side.
func testCards(t testing.TB) (auth, both *cardfile.Card) {
	t.Helper()
	fixtureOnce.Do(func() {
		ca, err := testca.NewCA(testca.CAOptions{})
		if err != nil {
			panic(err)
		}
		a, err := ca.Issue(testca.CardOptions{})
		if err != nil {
			panic(err)
		}
		s, err := ca.Issue(testca.CardOptions{})
		if err != nil {
			panic(err)
		}
		fixture = &cardfile.Card{Certificate: a.CertDER, CACertificate: ca.Cert.Raw, Key: a.Key, PIN: "1234", TriesLeft: 3, SignTriesLeft: cardfile.SignPINTries}
		signSide = fixture.Clone()
		signSide.SignCertificate, signSide.SignCACertificate, signSide.SignKey = s.CertDER, ca.Cert.Raw, s.Key
		signSide.SignPIN, signSide.SignTriesLeft = "ABC123", cardfile.SignPINTries
	})
	return fixture.Clone(), signSide.Clone()
}

// stores returns each Store implementation holding c, for the conformance
// runs below.
func stores(t *testing.T, c *cardfile.Card) map[string]Store {
	path := filepath.Join(t.TempDir(), "card.json")
	if err := cardfile.Create(path, c); err != nil {
		t.Fatal(err)
	}
	return map[string]Store{"mem": NewMemStore(c), "file": FileStore(path)}
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var msg = []byte("mykey link request sign bytes")

// step is one command and what the card must answer.
type step struct {
	cmd   []byte
	sw    apdu.SW
	check func(t *testing.T, data []byte) // nil: no data expected
}

const aid = "D392F000260100000001"

var (
	selAP      = h("00A4040C0A" + aid)
	selAuthPIN = apdu.SelectEF(apdu.EFAuthPIN)
	selAuthKey = apdu.SelectEF(apdu.EFAuthKey)
	selCert    = apdu.SelectEF(apdu.EFAuthCert)
	pin1234    = h("0020008004 31323334")
	pin9999    = h("0020008004 39393939")
	pinEmpty   = h("00200080")
	signCmd    = apdu.Sign(jpki.DigestInfo(msg))
)

func ok(cmd []byte) step { return step{cmd: cmd, sw: apdu.SWOK} }
func sw(cmd []byte, sw apdu.SW) step {
	return step{cmd: cmd, sw: sw}
}
func tries(n int) apdu.SW { return apdu.VerifyFailed(n) }

// status sends cmd to c and returns the status word of its answer.
func status(c *Card, cmd []byte) apdu.SW {
	_, sw, _ := apdu.Split(c.Transmit(cmd))
	return sw
}

func signatureOf(der []byte) func(t *testing.T, data []byte) {
	return func(t *testing.T, sig []byte) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
			t.Errorf("signature does not verify against the certificate: %v", err)
		}
		if err := jpki.VerifySignature(cert, msg, sig); err != nil {
			t.Errorf("jpki.VerifySignature: %v", err)
		}
	}
}

func equals(want []byte) func(t *testing.T, data []byte) {
	return func(t *testing.T, data []byte) {
		if !bytes.Equal(data, want) {
			t.Errorf("data %X, want %X", data, want)
		}
	}
}

func TestAPDUs(t *testing.T) {
	auth, both := testCards(t)
	der := auth.Certificate
	efSize := CertEFSize
	filler := bytes.Repeat([]byte{Filler}, efSize-len(der))
	tests := []struct {
		name  string
		card  *cardfile.Card // nil: auth
		steps []step
	}{
		{"select AP", nil, []step{ok(selAP), ok(h("00A404000A" + aid))}},
		{"select unknown AID", nil, []step{
			sw(h("00A4040C0A D392F000260100000002"), apdu.SWFileNotFound),
			sw(h("00A4040C05 D392F00026"), apdu.SWFileNotFound),
			sw(h("00A4040C07 A0000000030000"), apdu.SWFileNotFound),
		}},
		{"select AP bad P1/P2", nil, []step{
			sw(h("00A404010A"+aid), apdu.SWIncorrectP1P2),
			sw(h("00A4080C0A"+aid), apdu.SWIncorrectP1P2),
		}},
		{"select EF before AP", nil, []step{sw(selCert, apdu.SWFileNotFound)}},
		{"select every EF", nil, []step{ok(selAP),
			ok(h("00A4020C02 000A")), ok(h("00A4020C02 000B")), ok(h("00A4020C02 0017")),
			ok(h("00A4020C02 0018")), ok(h("00A4020C02 0001")), ok(h("00A4020C02 0002")),
			ok(h("00A4020C02 001A")), ok(h("00A4020C02 001B")), ok(h("00A4020C02 0006")),
		}},
		{"select unknown EF", nil, []step{ok(selAP),
			sw(h("00A4020C02 0003"), apdu.SWFileNotFound),
			sw(h("00A4020C02 3F00"), apdu.SWFileNotFound),
			sw(h("00A4020C01 0A"), apdu.SWWrongLength),
		}},
		{"read certificate header", nil, []step{ok(selAP), ok(selCert),
			{h("00B00000 04"), apdu.SWOK, equals(der[:4])},
		}},
		{"read certificate at offsets", nil, []step{ok(selAP), ok(selCert),
			{apdu.ReadBinary(0, 256), apdu.SWOK, equals(der[:256])},
			{apdu.ReadBinary(256, 256), apdu.SWOK, equals(der[256:512])},
			{apdu.ReadBinary(0x0123, 0x10), apdu.SWOK, equals(der[0x123:0x133])},
			{apdu.ReadBinary(uint16(len(der)-2), 4), apdu.SWOK, equals(append(der[len(der)-2:], Filler, Filler))},
		}},
		{"read past the end", nil, []step{ok(selAP), ok(selCert),
			{apdu.ReadBinary(uint16(efSize-3), 10), apdu.SWEndOfFile, equals(bytes.Repeat([]byte{Filler}, 3))},
			sw(apdu.ReadBinary(uint16(efSize), 1), apdu.SWWrongP1P2),
			sw(apdu.ReadBinary(0x7FFF, 1), apdu.SWWrongP1P2),
		}},
		{"whole certificate EF is DER then filler", nil, []step{ok(selAP), ok(selCert),
			{apdu.ReadBinary(uint16(len(der)), 256), apdu.SWOK, equals(filler[:256])},
		}},
		{"read CA certificate", nil, []step{ok(selAP), ok(apdu.SelectEF(apdu.EFAuthCACert)),
			{apdu.ReadBinary(0, 100), apdu.SWOK, equals(auth.CACertificate[:100])},
		}},
		{"read token info", nil, []step{ok(selAP), ok(apdu.SelectEF(apdu.EFTokenInfo)),
			{apdu.ReadBinary(0, 32), apdu.SWOK, func(t *testing.T, d []byte) {
				if len(d) != 32 || !bytes.HasPrefix(d, []byte("JPKIAPICCTOKEN2")) {
					t.Errorf("token info %q", d)
				}
			}},
			sw(apdu.ReadBinary(32, 1), apdu.SWWrongP1P2),
		}},
		{"read without an EF", nil, []step{ok(selAP), sw(apdu.ReadBinary(0, 4), apdu.SWNotAllowed)}},
		{"read key and PIN EFs", nil, []step{ok(selAP),
			ok(selAuthKey), sw(apdu.ReadBinary(0, 4), apdu.SWIncompatibleFile),
			ok(selAuthPIN), sw(apdu.ReadBinary(0, 4), apdu.SWIncompatibleFile),
			ok(apdu.SelectEF(apdu.EFSignKey)), sw(apdu.ReadBinary(0, 4), apdu.SWIncompatibleFile),
		}},
		{"read signing certificate needs the signing PIN", both, []step{ok(selAP),
			ok(apdu.SelectEF(apdu.EFSignCert)), sw(apdu.ReadBinary(0, 4), apdu.SWSecurityNotMet),
			ok(selAuthPIN), ok(pin1234),
			ok(apdu.SelectEF(apdu.EFSignCert)), sw(apdu.ReadBinary(0, 4), apdu.SWSecurityNotMet),
			ok(apdu.SelectEF(apdu.EFSignPIN)), ok(apdu.Verify([]byte("ABC123"))),
			ok(apdu.SelectEF(apdu.EFSignCert)), {apdu.ReadBinary(0, 64), apdu.SWOK, equals(both.SignCertificate[:64])},
		}},
		{"read binary bad forms", nil, []step{ok(selAP), ok(selCert),
			sw(h("00B00000"), apdu.SWWrongLength),
			sw(h("00B0000001FF"), apdu.SWWrongLength),
			sw(h("00B0810004"), apdu.SWIncorrectP1P2),
		}},
		{"empty verify reads tries", nil, []step{ok(selAP), ok(selAuthPIN),
			sw(pinEmpty, tries(3)), sw(pin9999, tries(2)), sw(pinEmpty, tries(2)),
		}},
		{"right PIN", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234), ok(pinEmpty)}},
		{"right PIN restores tries", nil, []step{ok(selAP), ok(selAuthPIN),
			sw(pin9999, tries(2)), sw(h("0020008004 31323335"), tries(1)),
			ok(pin1234), ok(pinEmpty), sw(pin9999, tries(2)), sw(pinEmpty, tries(2)),
		}},
		{"three wrong PINs block the card", nil, []step{ok(selAP), ok(selAuthPIN),
			sw(pin9999, tries(2)), sw(pin9999, tries(1)), sw(pin9999, tries(0)),
			sw(pin1234, apdu.SWRefDataNotUsable),
			sw(pinEmpty, apdu.SWRefDataNotUsable),
			ok(selAuthKey), sw(signCmd, apdu.SWSecurityNotMet),
		}},
		{"blocked card stays blocked after reset", nil, []step{ok(selAP), ok(selAuthPIN),
			sw(pin9999, tries(2)), sw(pin9999, tries(1)), sw(pin9999, tries(0)),
			ok(selAP), ok(selAuthPIN), sw(pin1234, apdu.SWRefDataNotUsable),
		}},
		{"PIN of the wrong length costs no try", nil, []step{ok(selAP), ok(selAuthPIN),
			sw(h("0020008003 313233"), apdu.SWWrongLength),
			sw(h("0020008005 3132333435"), apdu.SWWrongLength),
			sw(pinEmpty, tries(3)),
		}},
		{"verify without a PIN EF", nil, []step{ok(selAP), sw(pin1234, apdu.SWNotAllowed),
			ok(selCert), sw(pin1234, apdu.SWNotAllowed),
		}},
		{"verify bad P1/P2", nil, []step{ok(selAP), ok(selAuthPIN),
			sw(h("0020000104 31323334"), apdu.SWIncorrectP1P2),
			sw(pinEmpty, tries(3)),
		}},
		{"sign before verify", nil, []step{ok(selAP), ok(selAuthKey), sw(signCmd, apdu.SWSecurityNotMet)}},
		{"sign after verify", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234), ok(selAuthKey),
			{signCmd, apdu.SWOK, signatureOf(der)},
			{signCmd, apdu.SWOK, signatureOf(der)}, // the PIN stays verified
		}},
		{"sign without Le", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234), ok(selAuthKey),
			{signCmd[:len(signCmd)-1], apdu.SWOK, signatureOf(der)},
		}},
		{"sign with a non-key EF", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234),
			sw(signCmd, apdu.SWNotAllowed), ok(selCert), sw(signCmd, apdu.SWNotAllowed),
		}},
		{"sign too long input", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234), ok(selAuthKey),
			sw(apdu.Sign(make([]byte, 246)), apdu.SWWrongLength),
		}},
		{"wrong PIN clears verification", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234),
			sw(pin9999, tries(2)), ok(selAuthKey), sw(signCmd, apdu.SWSecurityNotMet),
		}},
		{"selecting the AP clears verification", nil, []step{ok(selAP), ok(selAuthPIN), ok(pin1234),
			ok(selAP), ok(selAuthKey), sw(signCmd, apdu.SWSecurityNotMet),
		}},
		{"signing PIN and key", both, []step{ok(selAP),
			ok(apdu.SelectEF(apdu.EFSignPIN)), sw(pinEmpty, tries(5)),
			sw(apdu.Verify([]byte("12345")), apdu.SWWrongLength),
			sw(apdu.Verify([]byte("WRONG1")), tries(4)),
			ok(apdu.Verify([]byte("ABC123"))),
			ok(apdu.SelectEF(apdu.EFSignKey)), {signCmd, apdu.SWOK, signatureOf(both.SignCertificate)},
			ok(selAuthKey), sw(signCmd, apdu.SWSecurityNotMet), // the other PIN
		}},
		// JPKI middleware reads the tries left of both PINs before it uses
		// a card; an adult's card answers 63Cx for each, never 6984.
		{"both PINs answer their tries", nil, []step{ok(selAP),
			ok(selAuthPIN), sw(pinEmpty, tries(3)),
			ok(apdu.SelectEF(apdu.EFSignPIN)), sw(pinEmpty, tries(5)),
		}},
		{"both PINs answer their tries, signing side", both, []step{ok(selAP),
			ok(selAuthPIN), sw(pinEmpty, tries(3)),
			ok(apdu.SelectEF(apdu.EFSignPIN)), sw(pinEmpty, tries(5)),
		}},
		{"signing PIN verified answers 9000", both, []step{ok(selAP),
			ok(apdu.SelectEF(apdu.EFSignPIN)), ok(apdu.Verify([]byte("ABC123"))), ok(pinEmpty),
			ok(selAuthPIN), sw(pinEmpty, tries(3)),
		}},
		{"no signing side", nil, []step{ok(selAP),
			ok(apdu.SelectEF(apdu.EFSignPIN)), sw(pinEmpty, tries(5)),
			sw(apdu.Verify([]byte("ABC123")), tries(4)), sw(pinEmpty, tries(4)),
			sw(apdu.Verify([]byte("12345")), apdu.SWWrongLength),
			sw(apdu.Verify([]byte("ABC124")), tries(3)), sw(apdu.Verify([]byte("ABC125")), tries(2)),
			sw(apdu.Verify([]byte("ABC126")), tries(1)), sw(apdu.Verify([]byte("ABC127")), tries(0)),
			sw(pinEmpty, apdu.SWRefDataNotUsable), sw(apdu.Verify([]byte("ABC123")), apdu.SWRefDataNotUsable),
			ok(apdu.SelectEF(apdu.EFSignKey)), sw(signCmd, apdu.SWSecurityNotMet),
			ok(apdu.SelectEF(apdu.EFSignCert)), sw(apdu.ReadBinary(0, 4), apdu.SWSecurityNotMet),
			ok(selAuthPIN), sw(pinEmpty, tries(3)), // the other PIN is untouched
			ok(apdu.SelectEF(apdu.EFSignCACert)), {apdu.ReadBinary(0, 4), apdu.SWOK, equals([]byte{Filler, Filler, Filler, Filler})},
		}},
		{"unknown class", nil, []step{
			sw(h("10A4040C0A"+aid), apdu.SWCLANotSupported),
			sw(h("FFB0000004"), apdu.SWCLANotSupported),
			sw(h("80A4040C0A"+aid), apdu.SWCLANotSupported),
			sw(h("002A008004 01020304 00"), apdu.SWCLANotSupported),
		}},
		{"unknown instruction", nil, []step{
			sw(h("0084000008"), apdu.SWINSNotSupported),
			sw(h("00CA000000"), apdu.SWINSNotSupported),
			sw(h("80CA000000"), apdu.SWINSNotSupported),
		}},
		{"malformed APDUs", nil, []step{
			sw(h("00A404"), apdu.SWWrongLength),
			sw(h(""), apdu.SWWrongLength),
			sw(h("00A4040C0BD392F000260100000001"), apdu.SWWrongLength),
			sw(h("00A4040C00"+aid), apdu.SWWrongLength),
			sw(h("0084000102030405"), apdu.SWINSNotSupported),
		}},
	}
	for _, tt := range tests {
		c := tt.card
		if c == nil {
			c = auth
		}
		for name, store := range stores(t, c) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				card := New(store)
				card.OnError = func(err error) { t.Errorf("store error: %v", err) }
				for i, s := range tt.steps {
					data, gotSW, err := apdu.Split(card.Transmit(s.cmd))
					if err != nil {
						t.Fatal(err)
					}
					if gotSW != s.sw {
						t.Fatalf("step %d: % X: SW %v, want %v", i, s.cmd, gotSW, s.sw)
					}
					if s.check != nil {
						s.check(t, data)
					} else if len(data) > 0 {
						t.Errorf("step %d: unexpected data %X", i, data)
					}
				}
			})
		}
	}
}

// The PIN counter is in the store, the PIN state in the card: a wrong PIN
// is still counted by the next card over the same store, a verified PIN is
// forgotten on reset and power-off.
func TestPINStatePersistence(t *testing.T) {
	auth, _ := testCards(t)
	for name, store := range stores(t, auth) {
		t.Run(name, func(t *testing.T) {
			a := New(store)
			status(a, selAP)
			status(a, selAuthPIN)
			if sw := status(a, pin9999); sw != tries(2) {
				t.Fatalf("wrong PIN: %v", sw)
			}
			b := New(store) // another program, or the emulator restarted
			status(b, selAP)
			status(b, selAuthPIN)
			if sw := status(b, pinEmpty); sw != tries(2) {
				t.Fatalf("tries after a wrong PIN on another card value: %v, want 63C2", sw)
			}
			if k, _ := store.Load(); k.TriesLeft != 2 {
				t.Fatalf("store holds %d tries, want 2", k.TriesLeft)
			}
			if sw := status(b, pin1234); sw != apdu.SWOK {
				t.Fatal(sw)
			}
			for _, off := range []func(){b.Reset, b.PowerOff, b.PowerOn} {
				status(b, selAP)
				status(b, selAuthPIN)
				status(b, pin1234)
				off()
				status(b, selAP)
				status(b, selAuthKey)
				if sw := status(b, signCmd); sw != apdu.SWSecurityNotMet {
					t.Fatalf("SIGN after reset/power cycle: %v, want 6982", sw)
				}
			}
			status(b, selAP)
			status(b, selAuthPIN)
			status(b, pin1234)
			status(b, selAuthKey)
			if sw := status(b, signCmd); sw != apdu.SWOK {
				t.Fatal(sw)
			}
			if k, _ := store.Load(); k.Signatures != 1 || k.TriesLeft != 3 {
				t.Fatalf("store: %d signatures, %d tries; want 1 and 3", k.Signatures, k.TriesLeft)
			}
		})
	}
}

// A store that fails answers 6581 and reports the error.
func TestStoreFailure(t *testing.T) {
	c := New(FileStore(filepath.Join(t.TempDir(), "missing.json")))
	var got error
	c.OnError = func(err error) { got = err }
	c.Transmit(selAP)
	c.Transmit(selAuthPIN)
	if _, sw, _ := apdu.Split(c.Transmit(pin1234)); sw != apdu.SWMemoryFailure {
		t.Fatalf("VERIFY on a missing card file: %v, want 6581", sw)
	}
	if got == nil || !strings.Contains(got.Error(), "missing.json") {
		t.Fatalf("OnError got %v", got)
	}
}

// Two cards over one card file, used at once, lose no wrong-PIN count.
func TestConcurrentCardsOneFile(t *testing.T) {
	auth, _ := testCards(t)
	auth.TriesLeft = 3
	path := filepath.Join(t.TempDir(), "card.json")
	if err := cardfile.Create(path, auth); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan apdu.SW, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := New(FileStore(path))
			c.Transmit(selAP)
			c.Transmit(selAuthPIN)
			_, sw, _ := apdu.Split(c.Transmit(pin9999))
			results <- sw
		}()
	}
	wg.Wait()
	close(results)
	seen := map[apdu.SW]bool{}
	for sw := range results {
		seen[sw] = true
	}
	if !seen[tries(2)] || !seen[tries(1)] || !seen[tries(0)] {
		t.Fatalf("three concurrent wrong PINs answered %v, want 63C2, 63C1, 63C0", seen)
	}
	if k, _ := cardfile.Load(path); !k.Blocked() {
		t.Fatal("card not blocked after three wrong PINs")
	}
}

// On a card file without a signing side, a wrong signing PIN is counted in
// the store like any other, and the file stays valid: another card value
// over it (another program) reads the same tries left.
func TestUnsetSignPINPersistence(t *testing.T) {
	auth, _ := testCards(t)
	for name, store := range stores(t, auth) {
		t.Run(name, func(t *testing.T) {
			a := New(store)
			a.OnError = func(err error) { t.Errorf("store error: %v", err) }
			status(a, selAP)
			status(a, apdu.SelectEF(apdu.EFSignPIN))
			if sw := status(a, apdu.Verify([]byte("WRONG1"))); sw != tries(4) {
				t.Fatalf("wrong signing PIN: %v, want 63C4", sw)
			}
			b := New(store)
			status(b, selAP)
			status(b, apdu.SelectEF(apdu.EFSignPIN))
			if sw := status(b, pinEmpty); sw != tries(4) {
				t.Fatalf("signing PIN tries on another card value: %v, want 63C4", sw)
			}
			k, err := store.Load()
			if err != nil {
				t.Fatal(err)
			}
			if k.SignKey != nil || k.TriesLeft != 3 {
				t.Fatalf("store: signing key %v, %d tries of the auth PIN; want none and 3", k.SignKey != nil, k.TriesLeft)
			}
		})
	}
}
