package jpki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"
)

const (
	// MinRSABits is the smallest RSA modulus accepted for a card key.
	MinRSABits = 2048
	// MaxCertificateSize bounds the DER size of a card certificate (real
	// JPKI user-authentication certificates are about 1.3 KB).
	MaxCertificateSize = 16 << 10
	// DefaultCacheSize is the number of certificates a Verifier made by
	// NewVerifier caches (a parsed certificate takes a few kilobytes).
	DefaultCacheSize = 4096
)

// Verifier verifies card certificates against a fixed set of trust anchors.
// It is safe for concurrent use; see the package documentation.
type Verifier struct {
	anchors []*x509.Certificate
	pools   []*x509.CertPool // pools[i] holds anchors[i] only
	cache   *certCache       // nil: no caching
}

// NewVerifier returns a Verifier trusting anchors (which must satisfy the
// rules of ParseTrustAnchors) with a cache of DefaultCacheSize entries.
func NewVerifier(anchors []*x509.Certificate) (*Verifier, error) {
	return NewVerifierWithCache(anchors, DefaultCacheSize)
}

// NewVerifierWithCache is NewVerifier with a cache of cacheSize
// certificates; cacheSize <= 0 disables caching.
func NewVerifierWithCache(anchors []*x509.Certificate, cacheSize int) (*Verifier, error) {
	if err := checkAnchors(anchors); err != nil {
		return nil, err
	}
	v := &Verifier{
		anchors: append([]*x509.Certificate(nil), anchors...),
		pools:   make([]*x509.CertPool, len(anchors)),
		cache:   newCertCache(cacheSize),
	}
	for i, a := range v.anchors {
		v.pools[i] = x509.NewCertPool()
		v.pools[i].AddCert(a)
	}
	return v, nil
}

// Anchors returns the trust anchors, in the order given to NewVerifier.
// The slice is a copy; the certificates are shared and must not be modified.
func (v *Verifier) Anchors() []*x509.Certificate {
	return append([]*x509.Certificate(nil), v.anchors...)
}

// Verify verifies the card certificate der at time at (VerifyCertificate)
// and the card's signature sig over signBytes (VerifySignature). It returns
// the certificate when both hold, else nil and an *Error.
func (v *Verifier) Verify(der, signBytes, sig []byte, at time.Time) (*x509.Certificate, error) {
	cert, err := v.VerifyCertificate(der, at)
	if err != nil {
		return nil, err
	}
	if err := VerifySignature(cert, signBytes, sig); err != nil {
		return nil, err
	}
	return cert, nil
}

// VerifyCertificate checks that der is a card certificate issued by a trust
// anchor, that it and the anchor are valid at time at (inclusive bounds, as
// in crypto/x509), that it may sign, and that its key is strong enough. It
// returns the parsed certificate (shared: read-only), or nil and an *Error.
// at must be the block time; a zero at is before every validity period.
func (v *Verifier) VerifyCertificate(der []byte, at time.Time) (*x509.Certificate, error) {
	cert, _, err := v.VerifyCertificateIssuer(der, at)
	return cert, err
}

// VerifyCertificateIssuer is VerifyCertificate that also returns the
// IssuerKey of the CA key that signed the certificate.
func (v *Verifier) VerifyCertificateIssuer(der []byte, at time.Time) (*x509.Certificate, []byte, error) {
	r, err := v.chain(der)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAt(r, at); err != nil {
		return nil, nil, err
	}
	// Every anchor in r.anchors verified the certificate's signature, so
	// they hold one public key.
	return r.cert, IssuerKey(r.anchors[0]), nil
}

// IssuerKey is the SHA-256 of ca's SubjectPublicKeyInfo. Two CA
// certificates may share a subject name (J-LIS's 2015 and 2023 roots do);
// their keys tell them apart.
func IssuerKey(ca *x509.Certificate) []byte {
	h := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return h[:]
}

// chain returns the time-independent facts about der: the parsed
// certificate and the anchors that issued it, from the cache if possible.
func (v *Verifier) chain(der []byte) (*chainResult, error) {
	switch {
	case len(der) == 0:
		return nil, refuse(Malformed, "empty certificate")
	case len(der) > MaxCertificateSize:
		return nil, refuse(Malformed, fmt.Sprintf("certificate is %d bytes, more than %d", len(der), MaxCertificateSize))
	}
	if v.cache == nil {
		return v.buildChain(der)
	}
	k := sha256.Sum256(der)
	if r := v.cache.get(&k); r != nil {
		return r, nil
	}
	r, err := v.buildChain(der)
	if err != nil {
		return nil, err // refusals are not cached
	}
	v.cache.put(&k, r)
	return r, nil
}

var anyEKU = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}

// buildChain parses der and finds every anchor that issued it.
//
// x509.Verify checks the chain and the times together, but only the chain
// may be cached. So each candidate anchor (one whose subject is the
// certificate's issuer) is tried alone, with CurrentTime set to the start
// of the period in which both it and the certificate are valid: at such a
// time the time checks pass, so the outcome is the time-independent part of
// x509.Verify. An anchor whose period never overlaps the certificate's can
// never verify it. Cards chain directly to an anchor, so for any time t,
// x509.Verify with all anchors as roots and CurrentTime t succeeds exactly
// when this finds some anchor and checkAt(t) passes its time checks.
func (v *Verifier) buildChain(der []byte) (*chainResult, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, refuse(Malformed, err.Error())
	}
	if cert.SerialNumber.Sign() < 0 {
		return nil, refuse(Malformed, "negative serial number")
	}
	if len(cert.UnhandledCriticalExtensions) > 0 {
		return nil, refuse(Malformed, fmt.Sprintf("unsupported critical extension %v", cert.UnhandledCriticalExtensions[0]))
	}
	var (
		issuers    []*x509.Certificate
		candidates int
		firstErr   string
	)
	for i, a := range v.anchors {
		if !bytes.Equal(a.RawSubject, cert.RawIssuer) {
			continue
		}
		candidates++
		probe := later(cert.NotBefore, a.NotBefore)
		if probe.IsZero() {
			probe = probe.Add(time.Nanosecond) // x509 reads a zero CurrentTime as "now"
		}
		if probe.After(cert.NotAfter) || probe.After(a.NotAfter) {
			if firstErr == "" {
				firstErr = fmt.Sprintf("validity period never overlaps that of trust anchor %d", i)
			}
			continue
		}
		_, err := cert.Verify(x509.VerifyOptions{Roots: v.pools[i], CurrentTime: probe, KeyUsages: anyEKU})
		if err != nil {
			if firstErr == "" {
				firstErr = fmt.Sprintf("trust anchor %d: %v", i, err)
			}
			continue
		}
		issuers = append(issuers, a)
	}
	switch {
	case candidates == 0:
		return nil, refuse(Untrusted, fmt.Sprintf("issuer %q is not a trust anchor", nameString(cert.RawIssuer)))
	case len(issuers) == 0:
		return nil, refuse(Untrusted, fmt.Sprintf("not issued by a trust anchor named %q: %s", nameString(cert.RawIssuer), firstErr))
	}
	return &chainResult{cert: cert, anchors: issuers}, nil
}

// checkAt runs the checks that are evaluated on every call: validity of the
// certificate and of an issuing anchor at time at, key usage, and key.
func checkAt(r *chainResult, at time.Time) error {
	c := r.cert
	if at.Before(c.NotBefore) {
		return refuse(NotYetValid, fmt.Sprintf("certificate valid from %s, time is %s", stamp(c.NotBefore), stamp(at)))
	}
	if at.After(c.NotAfter) {
		return refuse(Expired, fmt.Sprintf("certificate expired at %s, time is %s", stamp(c.NotAfter), stamp(at)))
	}
	anchorOK, allFuture := false, true
	for _, a := range r.anchors {
		if !at.Before(a.NotBefore) && !at.After(a.NotAfter) {
			anchorOK = true
			break
		}
		if !at.Before(a.NotBefore) {
			allFuture = false
		}
	}
	if !anchorOK {
		a := r.anchors[0]
		if allFuture {
			return refuse(NotYetValid, fmt.Sprintf("issuing trust anchor valid from %s, time is %s", stamp(a.NotBefore), stamp(at)))
		}
		return refuse(Expired, fmt.Sprintf("issuing trust anchor (valid %s to %s) not valid at %s", stamp(a.NotBefore), stamp(a.NotAfter), stamp(at)))
	}
	if c.IsCA {
		return refuse(KeyUsage, "a CA certificate is not a card certificate")
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return refuse(KeyUsage, "key usage "+keyUsageString(c.KeyUsage)+" lacks digitalSignature")
	}
	_, err := cardKey(c)
	return err
}

// VerifySignature checks that sig is an RSASSA-PKCS1-v1_5 signature with
// SHA-256 over signBytes by the key of cert, which must be an RSA key of at
// least MinRSABits bits. This is what a JPKI card produces when given
// DigestInfo(signBytes). It does not check the certificate itself.
func VerifySignature(cert *x509.Certificate, signBytes, sig []byte) error {
	if cert == nil {
		return refuse(Malformed, "no certificate")
	}
	pub, err := cardKey(cert)
	if err != nil {
		return err
	}
	if len(sig) != pub.Size() {
		return refuse(BadSignature, fmt.Sprintf("signature is %d bytes, want %d", len(sig), pub.Size()))
	}
	h := sha256.Sum256(signBytes)
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil {
		return refuse(BadSignature, "RSA PKCS#1 v1.5 SHA-256 signature does not verify under the certificate's key")
	}
	return nil
}

// cardKey returns cert's RSA public key if it is strong enough.
func cardKey(cert *x509.Certificate) (*rsa.PublicKey, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub == nil || pub.N == nil {
		return nil, refuse(WeakKey, fmt.Sprintf("%s key, want RSA", cert.PublicKeyAlgorithm))
	}
	if bits := pub.N.BitLen(); bits < MinRSABits {
		return nil, refuse(WeakKey, fmt.Sprintf("RSA-%d key, want at least %d bits", bits, MinRSABits))
	}
	return pub, nil
}

// digestInfoPrefix is the DER of DigestInfo{sha256, NULL} up to the digest.
var digestInfoPrefix = []byte{
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
}

// DigestInfo returns the DER-encoded PKCS#1 DigestInfo of the SHA-256 of
// signBytes (51 bytes): the input a JPKI card's SIGN (PSO: COMPUTE DIGITAL
// SIGNATURE) APDU takes. The card pads it (PKCS#1 v1.5, block type 1) and
// applies its private key, giving a signature VerifySignature accepts.
func DigestInfo(signBytes []byte) []byte {
	h := sha256.Sum256(signBytes)
	out := make([]byte, 0, len(digestInfoPrefix)+len(h))
	out = append(out, digestInfoPrefix...)
	return append(out, h[:]...)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// nameString formats a DER Name as in RFC 4514, keeping its RDN structure
// (pkix.Name.String would show the J-LIS root's two OU RDNs as one).
func nameString(der []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return fmt.Sprintf("%x", der)
	}
	return rdns.String()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
