package jpki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testca"
)

// verifyTest is one case of verifyTests, in the style of crypto/x509's
// verifyTests: a leaf, the roots, the time, and the expected outcome.
type verifyTest struct {
	name    string
	anchors func(*fixture) []*x509.Certificate // nil: the trusted test CA only
	card    func(*fixture) *testca.Card        // the card whose certificate and key are used
	der     func(*fixture) []byte              // overrides the card's certificate
	signer  func(*fixture) *testca.Card        // overrides the signing card
	signed  []byte                             // the bytes signed; nil: msg
	mangle  func([]byte) []byte                // applied to the signature
	at      time.Time
	want    Reason // 0: accepted
	detail  string // a substring of the refusal's Detail
}

func good(f *fixture) *testca.Card { return f.good }

var verifyTests = []verifyTest{
	{name: "good card", card: good, at: blockTime},
	{name: "good card at its NotBefore", card: good, at: testca.CardNotBefore},
	{name: "good card at its NotAfter", card: good, at: testca.CardNotAfter},
	{name: "good card 1ns before NotBefore", card: good, at: testca.CardNotBefore.Add(-time.Nanosecond), want: NotYetValid, detail: "certificate valid from 2024-01-01T00:00:00Z"},
	{name: "good card 1ns after NotAfter", card: good, at: testca.CardNotAfter.Add(time.Nanosecond), want: Expired, detail: "certificate expired at 2029-01-01T00:00:00Z"},
	{name: "good card at zero time", card: good, at: time.Time{}, want: NotYetValid},
	{name: "good card with a non-UTC block time", card: good, at: blockTime.In(time.FixedZone("JST", 9*3600))},
	{name: "expired card", card: func(f *fixture) *testca.Card { return f.expired }, at: blockTime, want: Expired, detail: "time is 2026-04-01T09:00:00.123456789Z"},
	{name: "not yet valid card", card: func(f *fixture) *testca.Card { return f.notYet }, at: blockTime, want: NotYetValid, detail: "valid from 2027-01-01"},
	{name: "card from another test CA with the same name", card: func(f *fixture) *testca.Card { return f.fromSameName }, at: blockTime, want: Untrusted, detail: "not issued by a trust anchor named"},
	{name: "card from another test CA", card: func(f *fixture) *testca.Card { return f.fromOtherName }, at: blockTime, want: Untrusted, detail: "is not a trust anchor"},
	{name: "expired card from another test CA", card: func(f *fixture) *testca.Card { return f.fromOtherName }, at: date(2035, 1, 1), want: Untrusted},
	{name: "keyUsage without digitalSignature", card: func(f *fixture) *testca.Card { return f.noDigSig }, at: blockTime, want: KeyUsage, detail: "{contentCommitment, keyEncipherment} lacks digitalSignature"},
	{name: "no keyUsage extension", card: good, der: func(f *fixture) []byte { return f.noKU }, signer: func(f *fixture) *testca.Card { return nil }, at: blockTime, want: KeyUsage, detail: "no keyUsage extension"},
	{name: "RSA-1024 key", card: func(f *fixture) *testca.Card { return f.weak }, at: blockTime, want: WeakKey, detail: "RSA-1024 key"},
	{name: "expired RSA-1024 key", card: func(f *fixture) *testca.Card { return f.weak }, at: date(2030, 1, 1), want: Expired},
	{name: "ECDSA key", card: good, der: func(f *fixture) []byte { return f.ecdsaCert }, at: blockTime, want: WeakKey, detail: "ECDSA key, want RSA"},
	{name: "garbage DER", card: good, der: func(*fixture) []byte { return []byte("this is not a certificate") }, at: blockTime, want: Malformed, detail: "x509:"},
	{name: "empty DER", card: good, der: func(*fixture) []byte { return nil }, at: blockTime, want: Malformed, detail: "empty certificate"},
	{name: "DER with trailing data", card: good, der: func(f *fixture) []byte { return append(bytes.Clone(f.good.CertDER), 0) }, at: blockTime, want: Malformed, detail: "trailing data"},
	{name: "truncated DER", card: good, der: func(f *fixture) []byte { return f.good.CertDER[:len(f.good.CertDER)-1] }, at: blockTime, want: Malformed},
	{name: "oversized DER", card: good, der: func(*fixture) []byte { return make([]byte, MaxCertificateSize+1) }, at: blockTime, want: Malformed, detail: "more than 16384"},
	{name: "unsupported critical extension", card: good, der: func(f *fixture) []byte { return f.critExt }, at: blockTime, want: Malformed, detail: "unsupported critical extension 1.2.392.99999.1"},
	{name: "trusted CA certificate as the leaf", card: good, der: func(f *fixture) []byte { return f.ca.Cert.Raw }, at: blockTime, want: KeyUsage, detail: "CA certificate"},
	{name: "untrusted CA certificate as the leaf", card: good, der: func(f *fixture) []byte { return f.otherNameCA.Cert.Raw }, at: blockTime, want: Untrusted},
	{name: "same-name CA certificate as the leaf", card: good, der: func(f *fixture) []byte { return f.sameNameCA.Cert.Raw }, at: blockTime, want: Untrusted},
	{name: "bad signature", card: good, mangle: func(s []byte) []byte { s[100] ^= 0x01; return s }, at: blockTime, want: BadSignature, detail: "does not verify"},
	{name: "truncated signature", card: good, mangle: func(s []byte) []byte { return s[:255] }, at: blockTime, want: BadSignature, detail: "signature is 255 bytes, want 256"},
	{name: "empty signature", card: good, mangle: func([]byte) []byte { return nil }, at: blockTime, want: BadSignature},
	{name: "signature over other bytes", card: good, signed: []byte("mykey/v1 link: chain mykey-test-1, mykey 0xBADBAD"), at: blockTime, want: BadSignature},
	{name: "signature by another card's key", card: good, signer: func(f *fixture) *testca.Card { return f.good2 }, at: blockTime, want: BadSignature},
	{name: "bad signature by an expired card", card: func(f *fixture) *testca.Card { return f.expired }, signer: func(f *fixture) *testca.Card { return f.good2 }, at: blockTime, want: Expired},
	{name: "anchor expired before block time", anchors: func(f *fixture) []*x509.Certificate { return []*x509.Certificate{f.shortCA.Cert} },
		card: func(f *fixture) *testca.Card { return f.fromShort }, at: blockTime, want: Expired, detail: "issuing trust anchor (valid 2020-01-01T00:00:00Z to 2025-06-01T00:00:00Z) not valid"},
	{name: "anchor still valid", anchors: func(f *fixture) []*x509.Certificate { return []*x509.Certificate{f.shortCA.Cert} },
		card: func(f *fixture) *testca.Card { return f.fromShort }, at: date(2025, 5, 31)},
	{name: "anchor renewed with the same key", anchors: func(f *fixture) []*x509.Certificate { return []*x509.Certificate{f.shortCA.Cert, f.renewedCA.Cert} },
		card: func(f *fixture) *testca.Card { return f.fromShort }, at: blockTime},
	{name: "anchor not yet valid", anchors: func(f *fixture) []*x509.Certificate { return []*x509.Certificate{f.futureCA.Cert} },
		card: func(f *fixture) *testca.Card { return f.fromFuture }, at: blockTime, want: NotYetValid, detail: "issuing trust anchor valid from 2027-01-01"},
	{name: "anchor valid", anchors: func(f *fixture) []*x509.Certificate { return []*x509.Certificate{f.futureCA.Cert} },
		card: func(f *fixture) *testca.Card { return f.fromFuture }, at: date(2028, 1, 1)},
	{name: "anchor and card never valid together", anchors: func(f *fixture) []*x509.Certificate { return []*x509.Certificate{f.ancientCA.Cert} },
		card: func(f *fixture) *testca.Card { return f.fromAncient }, at: date(2019, 6, 1), want: Untrusted, detail: "never overlaps"},
	{name: "test card against the real J-LIS roots", anchors: func(f *fixture) []*x509.Certificate { return f.realRoots },
		card: good, at: blockTime, want: Untrusted, detail: "is not a trust anchor"},
	{name: "forged card under the J-LIS root's name", anchors: func(f *fixture) []*x509.Certificate { return f.realRoots },
		card: good, der: func(f *fixture) []byte { return f.forgedDER }, signer: func(*fixture) *testca.Card { return nil }, at: blockTime, want: Untrusted,
		detail: `not issued by a trust anchor named "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for user authentication,O=JPKI,C=JP"`},
}

// inputs returns the anchors, certificate, sign bytes and signature of tt.
func (tt *verifyTest) inputs(t testing.TB, f *fixture) (anchors []*x509.Certificate, der, signBytes, sig []byte) {
	anchors = []*x509.Certificate{f.ca.Cert}
	if tt.anchors != nil {
		anchors = tt.anchors(f)
	}
	card := tt.card(f)
	der = card.CertDER
	if tt.der != nil {
		der = tt.der(f)
	}
	signer := card
	if tt.signer != nil {
		signer = tt.signer(f)
	}
	signBytes = msg
	if tt.signed != nil {
		signBytes = tt.signed
	}
	if signer != nil {
		sig = sign(t, signer, signBytes)
	} else {
		sig = make([]byte, 256) // no key to sign with: the certificate must fail first
	}
	if tt.mangle != nil {
		sig = tt.mangle(sig)
	}
	signBytes = msg // the verifier always checks msg
	return anchors, der, signBytes, sig
}

func TestVerify(t *testing.T) {
	f := fx(t)
	shared := map[string]*Verifier{} // warm caches shared across cases
	for _, tt := range verifyTests {
		t.Run(tt.name, func(t *testing.T) {
			anchors, der, signBytes, sig := tt.inputs(t, f)
			key := ""
			for _, a := range anchors {
				key += string(a.Raw)
			}
			if shared[key] == nil {
				shared[key] = newV(t, DefaultCacheSize, anchors...)
			}
			verifiers := []struct {
				name string
				v    *Verifier
			}{
				{"uncached", newV(t, 0, anchors...)},
				{"cold cache", newV(t, DefaultCacheSize, anchors...)},
				{"shared cache", shared[key]},
			}
			var first error
			for i, vv := range verifiers {
				for pass := range 2 { // the second pass of a cached verifier hits its cache
					cert, err := vv.v.Verify(der, signBytes, sig, tt.at)
					where := vv.name + [...]string{"", " (again)"}[pass]
					checkOutcome(t, where, cert, err, der, tt.want, tt.detail)
					if i == 0 && pass == 0 {
						first = err
					} else if !sameError(first, err) {
						t.Errorf("%s: %v; uncached: %v", where, err, first)
					}
				}
			}
			// VerifyCertificate agrees: it fails exactly on the certificate refusals.
			_, err := verifiers[1].v.VerifyCertificate(der, tt.at)
			switch tt.want {
			case 0, BadSignature:
				if err != nil {
					t.Errorf("VerifyCertificate: %v, want success", err)
				}
			default:
				if !sameError(first, err) {
					t.Errorf("VerifyCertificate: %v, Verify: %v", err, first)
				}
			}
		})
	}
}

func checkOutcome(t *testing.T, where string, cert *x509.Certificate, err error, der []byte, want Reason, detail string) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Errorf("%s: %v, want success", where, err)
		} else if cert == nil || !bytes.Equal(cert.Raw, der) {
			t.Errorf("%s: returned certificate is not the one verified", where)
		}
		return
	}
	var je *Error
	switch {
	case err == nil:
		t.Errorf("%s: accepted, want %v", where, want)
	case cert != nil:
		t.Errorf("%s: refusal returned a certificate", where)
	case !errors.As(err, &je):
		t.Errorf("%s: %v is not a *jpki.Error", where, err)
	case je.Reason != want || !errors.Is(err, want):
		t.Errorf("%s: reason %v (%v), want %v", where, je.Reason, err, want)
	case !strings.Contains(je.Detail, detail):
		t.Errorf("%s: detail %q does not contain %q", where, je.Detail, detail)
	case !strings.HasPrefix(err.Error(), "jpki: "+want.String()+": "):
		t.Errorf("%s: message %q", where, err)
	}
}

// sameError reports whether a and b are both nil, or refusals with the same
// reason and detail.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var ea, eb *Error
	return errors.As(a, &ea) && errors.As(b, &eb) && *ea == *eb
}

// crossCheckTimes are the times at which TestMatchesCryptoX509 compares.
var crossCheckTimes = []time.Time{
	date(2014, 1, 1), date(2019, 6, 1), date(2020, 1, 1), testca.CardNotBefore.Add(-time.Second), testca.CardNotBefore,
	date(2025, 1, 1), date(2025, 1, 1).Add(time.Nanosecond), date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 1).Add(time.Nanosecond),
	blockTime, date(2027, 1, 1).Add(-time.Nanosecond), date(2027, 1, 1), testca.CardNotAfter, testca.CardNotAfter.Add(time.Nanosecond),
	date(2032, 1, 1), date(2035, 1, 1), date(2040, 1, 1), date(2040, 1, 1).Add(time.Second), date(2044, 12, 31), date(2050, 1, 1),
}

// TestMatchesCryptoX509 checks that, for every case and at every time, the
// certificate is accepted exactly when crypto/x509 verifies it with
// VerifyOptions{Roots: all anchors, CurrentTime: at, KeyUsages: any} and the
// card-specific checks (not a CA, digitalSignature, RSA >= 2048) pass.
func TestMatchesCryptoX509(t *testing.T) {
	f := fx(t)
	checked := 0
	for _, tt := range verifyTests {
		anchors, der, _, _ := tt.inputs(t, f)
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		roots := x509.NewCertPool()
		for _, a := range anchors {
			roots.AddCert(a)
		}
		v := newV(t, DefaultCacheSize, anchors...)
		for _, at := range append(crossCheckTimes, tt.at) {
			if at.IsZero() {
				continue // x509 would use the wall clock
			}
			_, xerr := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: anyEKU})
			_, keyErr := cardKey(cert)
			want := xerr == nil && !cert.IsCA && cert.KeyUsage&x509.KeyUsageDigitalSignature != 0 && keyErr == nil
			_, got := v.VerifyCertificate(der, at)
			if (got == nil) != want {
				t.Errorf("%s at %s: jpki says %v; x509 says %v (plus card checks: %v)", tt.name, stamp(at), got, xerr, want)
			}
			checked++
		}
	}
	if checked < 300 {
		t.Errorf("only %d comparisons", checked)
	}
}
