package jpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testca"
)

// Fixed times. Default test CAs are valid 2020..2040, default cards
// 2024-01-01..2029-01-01.
var (
	blockTime = time.Date(2026, 4, 1, 9, 0, 0, 123456789, time.UTC) // a block time inside every default period
	msg       = []byte("mykey/v1 link: chain mykey-test-1, mykey 0xC0FFEE, expires 2026-04-01T10:00:00Z")
)

// fixture is the test PKI, built once per test binary.
type fixture struct {
	ca          *testca.CA // the trusted CA
	sameNameCA  *testca.CA // another test CA with the same subject as ca
	otherNameCA *testca.CA // another test CA with a different subject
	shortCA     *testca.CA // trusted CA that expires 2025-06-01, before blockTime
	renewedCA   *testca.CA // shortCA's key and name, valid 2025-01-01..2045-01-01
	futureCA    *testca.CA // valid from 2027-01-01
	ancientCA   *testca.CA // valid 2015..2020: never overlaps default cards

	good, good2, expired, notYet, noDigSig, weak       *testca.Card
	fromSameName, fromOtherName, fromShort, fromFuture *testca.Card
	fromAncient                                        *testca.Card
	noKU, critExt, ecdsaCert                           []byte // certificates testca cannot make

	realRoots []*x509.Certificate
	forgedDER []byte // a card from a CA that copies the J-LIS root's name
}

var (
	fixtureOnce sync.Once
	theFixture  *fixture
	fixtureErr  error
)

func fx(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { theFixture, fixtureErr = newFixture() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return theFixture
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func newFixture() (_ *fixture, err error) {
	testca.Prefetch(16)
	f := &fixture{}
	must := func(ca *testca.CA, e error) *testca.CA {
		if err == nil {
			err = e
		}
		return ca
	}
	f.ca = must(testca.NewCA(testca.CAOptions{}))
	f.sameNameCA = must(testca.NewCA(testca.CAOptions{}))
	f.otherNameCA = must(testca.NewCA(testca.CAOptions{Name: "other prefecture"}))
	f.shortCA = must(testca.NewCA(testca.CAOptions{Name: "short", NotAfter: date(2025, 6, 1)}))
	f.futureCA = must(testca.NewCA(testca.CAOptions{Name: "future", NotBefore: date(2027, 1, 1)}))
	f.ancientCA = must(testca.NewCA(testca.CAOptions{Name: "ancient", NotBefore: date(2015, 1, 1), NotAfter: date(2020, 1, 1)}))
	if err != nil {
		return nil, err
	}
	f.renewedCA = must(testca.NewCA(testca.CAOptions{Name: "short", Key: f.shortCA.Key, NotBefore: date(2025, 1, 1), NotAfter: date(2045, 1, 1)}))

	issue := func(ca *testca.CA, o testca.CardOptions) *testca.Card {
		c, e := ca.Issue(o)
		if err == nil {
			err = e
		}
		return c
	}
	weakKey, e := rsa.GenerateKey(rand.Reader, 1024)
	if e != nil {
		return nil, e
	}
	f.good = issue(f.ca, testca.CardOptions{Key: testca.Key(0)})
	f.good2 = issue(f.ca, testca.CardOptions{Key: testca.Key(1)})
	f.expired = issue(f.ca, testca.CardOptions{NotBefore: date(2019, 1, 1), NotAfter: date(2025, 1, 1), Key: testca.Key(2)})
	f.notYet = issue(f.ca, testca.CardOptions{NotBefore: date(2027, 1, 1), NotAfter: date(2032, 1, 1), Key: testca.Key(3)})
	f.noDigSig = issue(f.ca, testca.CardOptions{KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageContentCommitment, Key: testca.Key(4)})
	f.weak = issue(f.ca, testca.CardOptions{Key: weakKey})
	f.fromSameName = issue(f.sameNameCA, testca.CardOptions{Key: testca.Key(5)})
	f.fromOtherName = issue(f.otherNameCA, testca.CardOptions{Key: testca.Key(6)})
	f.fromShort = issue(f.shortCA, testca.CardOptions{Key: testca.Key(7)})
	f.fromFuture = issue(f.futureCA, testca.CardOptions{Key: testca.Key(8)})
	f.fromAncient = issue(f.ancientCA, testca.CardOptions{Key: testca.Key(9)})
	if err != nil {
		return nil, err
	}

	// Certificates outside what testca makes, signed by the trusted CA.
	leaf := func(pub any, mod func(*x509.Certificate)) []byte {
		tmpl := &x509.Certificate{
			SerialNumber:       big.NewInt(777),
			Subject:            pkix.Name{Country: []string{"JP"}, CommonName: "0123456789ABCDEF"},
			NotBefore:          testca.CardNotBefore,
			NotAfter:           testca.CardNotAfter,
			KeyUsage:           x509.KeyUsageDigitalSignature,
			SignatureAlgorithm: x509.SHA256WithRSA,
		}
		mod(tmpl)
		der, e := x509.CreateCertificate(rand.Reader, tmpl, f.ca.Cert, pub, f.ca.Key)
		if err == nil {
			err = e
		}
		return der
	}
	cardPub := &testca.Key(10).PublicKey
	f.noKU = leaf(cardPub, func(c *x509.Certificate) { c.KeyUsage = 0 })
	f.critExt = leaf(cardPub, func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 392, 99999, 1}, Critical: true, Value: []byte{0x05, 0x00}}}
	})
	ecKey, e := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if e != nil {
		return nil, e
	}
	f.ecdsaCert = leaf(&ecKey.PublicKey, func(*x509.Certificate) {})
	if err != nil {
		return nil, err
	}

	// The real J-LIS roots, and a forger's CA with the 2023 root's name.
	for _, name := range []string{"testdata/auth_ca_2015.pem", "testdata/auth_ca_2023.pem"} {
		pemBytes, e := os.ReadFile(name)
		if e != nil {
			return nil, e
		}
		certs, e := ParseTrustAnchors(pemBytes)
		if e != nil {
			return nil, e
		}
		f.realRoots = append(f.realRoots, certs...)
	}
	forgerKey := testca.Key(11)
	root := f.realRoots[1]
	forgedRoot := &x509.Certificate{
		SerialNumber: big.NewInt(1), RawSubject: root.RawSubject, NotBefore: root.NotBefore, NotAfter: root.NotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: root.SubjectKeyId,
	}
	forgedDER, e := x509.CreateCertificate(rand.Reader, forgedRoot, forgedRoot, &forgerKey.PublicKey, forgerKey)
	if e != nil {
		return nil, e
	}
	forgedCA, e := x509.ParseCertificate(forgedDER)
	if e != nil {
		return nil, e
	}
	f.forgedDER, err = x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{Country: []string{"JP"}, CommonName: "FORGED"},
		NotBefore: date(2024, 1, 1), NotAfter: date(2029, 1, 1), KeyUsage: x509.KeyUsageDigitalSignature,
	}, forgedCA, &testca.Key(12).PublicKey, forgerKey)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// sign signs b with card, failing t on error.
func sign(t testing.TB, card *testca.Card, b []byte) []byte {
	t.Helper()
	return card.MustSign(t, b)
}

// newV makes a verifier trusting anchors with the given cache size.
func newV(t testing.TB, cacheSize int, anchors ...*x509.Certificate) *Verifier {
	t.Helper()
	v, err := NewVerifierWithCache(anchors, cacheSize)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
