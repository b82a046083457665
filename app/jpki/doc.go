// Package jpki verifies signatures made with the user-authentication key of
// a Japanese My Number Card (JPKI 利用者証明用電子証明書).
//
// A card signature is accepted only when the card's X.509 certificate
//
//   - is well-formed DER of at most MaxCertificateSize bytes (else Malformed),
//   - is issued directly by one of the trust anchors listed in genesis, as
//     checked by crypto/x509 (else Untrusted),
//   - is valid, and so is that anchor, at the given time, which is the
//     block time and never the wall clock (else NotYetValid or Expired),
//   - is not a CA certificate and has the digitalSignature key usage
//     (else KeyUsage),
//   - holds an RSA key of at least MinRSABits bits (else WeakKey),
//
// and the signature is RSASSA-PKCS1-v1_5 with SHA-256 over the sign bytes
// (else BadSignature). The checks run in that order, so every refusal has
// exactly one deterministic Reason. Revocation and request expiry are
// ledger state and are checked by the caller.
//
// The package does no I/O, never reads the clock and uses no randomness:
// every result is a function of the arguments and the trust anchors alone,
// so every validator reaches the same verdict.
//
// # Caching and thread safety
//
// A Verifier is safe for concurrent use by any number of goroutines. It keeps
// a bounded cache, keyed by the SHA-256 of the certificate DER, of the parsed
// certificate and of the anchors it chains to. Those are facts about the DER
// alone; the checks that depend on the time (validity of the certificate
// and of its anchor) and the key-usage and key checks run on every call.
// Only certificates that chain to an anchor are cached, so junk cannot evict
// real cards. Whether an entry is cached therefore changes the cost of a
// call, never its result, nor the error Detail.
//
// Certificates returned by a Verifier may be shared between callers and
// with the cache: treat them as read-only.
package jpki
