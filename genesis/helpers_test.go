package genesis

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

// testRSAKey is one RSA-2048 key shared by the test certificates (key
// generation is slow).
func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	rsaKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

var serial int64

// jpkiTestName is the subject of a JPKI-shaped test CA.
func jpkiTestName(cn string) pkix.Name {
	return pkix.Name{
		Country:            []string{"JP"},
		Organization:       []string{"JPKI-TEST"},
		OrganizationalUnit: []string{"JPKI for user authentication"},
		CommonName:         cn,
	}
}

// selfSigned returns a self-signed certificate as PEM; edit adjusts the
// template of a JPKI-shaped CA.
func selfSigned(t *testing.T, pub crypto.PublicKey, priv crypto.Signer, edit func(*x509.Certificate)) string {
	t.Helper()
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               jpkiTestName(""),
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// testCA is a JPKI-shaped RSA-2048 test CA (C=JP, O=JPKI-TEST, OU=JPKI for
// user authentication).
func testCA(t *testing.T) string {
	k := testRSAKey(t)
	return selfSigned(t, &k.PublicKey, k, nil)
}

// nonCACert is an end-entity certificate (CA:FALSE, digitalSignature).
func nonCACert(t *testing.T) string {
	k := testRSAKey(t)
	return selfSigned(t, &k.PublicKey, k, func(c *x509.Certificate) {
		c.Subject = pkix.Name{Country: []string{"JP"}, CommonName: "opaque-user"}
		c.IsCA = false
		c.KeyUsage = x509.KeyUsageDigitalSignature
	})
}

func ecdsaCA(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, &k.PublicKey, k, nil)
}

func weakRSACA(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, &k.PublicKey, k, nil)
}

// edKey is a deterministic ed25519 public key.
func edKey(seed byte) types.HexBytes {
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string([]byte{seed}), ed25519.SeedSize)))
	return types.HexBytes(priv.Public().(ed25519.PublicKey))
}

var (
	t0 = time.Date(2020, 9, 1, 0, 0, 0, 0, time.UTC)
	t1 = time.Date(2021, 3, 31, 0, 0, 0, 0, time.UTC)
)

// validDoc is a valid document: government with a validator, three
// providers (two validators), a percent and a fixed program, a test CA.
func validDoc(t *testing.T) *Document {
	t.Helper()
	return &Document{
		ChainID:       "mykey-test-1",
		GenesisTime:   time.Date(2020, 8, 31, 12, 0, 0, 123456789, time.UTC),
		InitialHeight: 1,
		AppState: types.GenesisState{
			Government: types.GenesisGovernment{
				Keys:         []types.HexBytes{edKey(1), edKey(2), edKey(3)},
				Threshold:    2,
				ValidatorKey: edKey(10),
				Power:        10,
				Name:         "government",
			},
			Providers: []types.GenesisProvider{
				{ID: "paypay", Name: "PayPay", GrantKey: edKey(20), ValidatorKey: edKey(30), Power: 5},
				{ID: "linepay", Name: "LINE Pay", GrantKey: edKey(21), ValidatorKey: edKey(31), Power: 5},
				{ID: "suica", Name: "Suica", GrantKey: edKey(22)},
			},
			Programs: []types.GenesisProgram{
				{
					ID: "mynapoint-1", Name: "MyNa Point phase 1", Kind: types.KindPercentOfCharge,
					RateBP: 2500, CapYen: 5000, BudgetYen: 200_000_000_000,
					LinkStart: t0, LinkEnd: t1, GrantStart: t0, GrantEnd: t1,
				},
				NewProgramFixed("mynapoint-2-hoken", 7500, 500_000_000_000, t0, t1),
			},
			TrustAnchors:        []string{testCA(t)},
			PseudonymCommitment: testCommitment,
		},
	}
}

// testCommitment stands for the commitment to a network pseudonym key.
var testCommitment = types.HexBytes(bytes.Repeat([]byte{0xc0}, 32))
