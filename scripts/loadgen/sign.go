package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Signing a link costs two RSA-2048 private-key operations: the test CA
// signs a new card certificate (a link is a new person) and the card signs
// the link request. crypto/rsa takes ~1.4 ms for one on this kind of
// machine (constant-time arithmetic and a check of its own result), so a
// minute of links at 1,000/s would cost ~170 s of CPU. fastKey computes the
// same signatures with math/big's CRT exponentiation, about twice as fast.
// It is not constant-time: for the load generator's test keys only.

// sha256DigestInfo is the DER of DigestInfo{sha256, NULL} up to the digest.
var sha256DigestInfo = []byte{
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
}

// fastKey is an RSA private key with its CRT values, a crypto.Signer of
// RSASSA-PKCS1-v1_5 SHA-256 signatures.
type fastKey struct {
	key            *rsa.PrivateKey
	p, q           *big.Int
	dp, dq, qInv   *big.Int
	size           int
	publicKeyValue crypto.PublicKey
}

func newFastKey(k *rsa.PrivateKey) (*fastKey, error) {
	if len(k.Primes) != 2 {
		return nil, errors.New("loadgen: fast signing needs a two-prime RSA key")
	}
	p, q := k.Primes[0], k.Primes[1]
	one := big.NewInt(1)
	f := &fastKey{
		key: k, p: p, q: q,
		dp:             new(big.Int).Mod(k.D, new(big.Int).Sub(p, one)),
		dq:             new(big.Int).Mod(k.D, new(big.Int).Sub(q, one)),
		qInv:           new(big.Int).ModInverse(q, p),
		size:           k.Size(),
		publicKeyValue: &k.PublicKey,
	}
	if f.qInv == nil {
		return nil, errors.New("loadgen: RSA key primes are not coprime")
	}
	return f, nil
}

func (f *fastKey) Public() crypto.PublicKey { return f.publicKeyValue }

// Sign signs a SHA-256 digest (x509.CreateCertificate calls it).
func (f *fastKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 || len(digest) != sha256.Size {
		return nil, fmt.Errorf("loadgen: fast signing supports PKCS#1 v1.5 SHA-256 only, not %v", opts.HashFunc())
	}
	return f.signDigest(digest), nil
}

// SignMessage signs SHA-256(msg) as a JPKI card does (testca.Card.Sign).
func (f *fastKey) SignMessage(msg []byte) []byte {
	h := sha256.Sum256(msg)
	return f.signDigest(h[:])
}

func (f *fastKey) signDigest(digest []byte) []byte {
	tLen := len(sha256DigestInfo) + len(digest)
	em := make([]byte, f.size)
	em[1] = 1
	for i := 2; i < f.size-tLen-1; i++ {
		em[i] = 0xff
	}
	copy(em[f.size-tLen:], sha256DigestInfo)
	copy(em[f.size-len(digest):], digest)
	m := new(big.Int).SetBytes(em)
	m1 := new(big.Int).Exp(m, f.dp, f.p)
	m2 := new(big.Int).Exp(m, f.dq, f.q)
	h := m1.Sub(m1, m2)
	h.Mul(h, f.qInv)
	h.Mod(h, f.p)
	h.Mul(h, f.q)
	h.Add(h, m2)
	return h.FillBytes(em)
}

// linkSigner issues test cards from a network's test CA and signs their
// links, with fastKey.
type linkSigner struct {
	ca       *testca.CA
	caKey    *fastKey
	cardKeys []*fastKey
	chainID  string
	program  string
	stamp    int64
	serial   atomic.Int64 // next card serial number
}

func newLinkSigner(ca *testca.CA, chainID, program string) (*linkSigner, error) {
	caKey, err := newFastKey(ca.Key)
	if err != nil {
		return nil, err
	}
	s := &linkSigner{ca: ca, caKey: caKey, chainID: chainID, program: program, stamp: time.Now().UnixNano()}
	testca.Prefetch(testca.PoolSize)
	for i := range testca.PoolSize {
		k, err := newFastKey(testca.Key(i))
		if err != nil {
			return nil, err
		}
		s.cardKeys = append(s.cardKeys, k)
	}
	// Serial numbers unique across runs against the same CA (a
	// certificate is a person: the same serial would be linked).
	s.serial.Store(time.Now().Unix() * 1_000_000)
	return s, nil
}

// issue issues a card certificate from the test CA (testca.CA.Issue,
// signed with the fast CA key) and returns its DER, serial number and card
// key.
func (s *linkSigner) issue() ([]byte, int64, *fastKey, error) {
	serial := s.serial.Add(1)
	key := s.cardKeys[int(serial%int64(len(s.cardKeys)))]
	card, err := s.ca.Issue(testca.CardOptions{Serial: serial, Key: key.key, CASigner: s.caKey})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("loadgen: issuing a test card: %w", err)
	}
	return card.CertDER, serial, key, nil
}

// link is a citizen-signed link for a provider.
type link struct {
	provider string
	signed   *types.SignedLink
}

// signLinks issues n new cards and signs one link each, for the providers
// in turn, on all CPUs.
func (s *linkSigner) signLinks(n int, providers []string) ([]link, error) {
	out := make([]link, n)
	var (
		mu       sync.Mutex
		firstErr error
	)
	expires := time.Now().Add(24 * time.Hour).Unix()
	parallel(n, func(k int) {
		der, serial, key, err := s.issue()
		if err == nil {
			prov := providers[k%len(providers)]
			tok := sha256.Sum256(fmt.Appendf(nil, "loadgen-%d-%d", s.stamp, serial))
			req := &types.LinkRequest{ChainId: s.chainID, ProgramId: s.program, ProviderId: prov,
				AccountCommitment: tok[:], ExpiresAt: expires, Certificate: der}
			out[k] = link{provider: prov, signed: &types.SignedLink{Request: req, Signature: key.SignMessage(req.SignBytes())}}
			return
		}
		mu.Lock()
		firstErr = err
		mu.Unlock()
	})
	return out, firstErr
}

// singleLinkTxs encodes one link per transaction, sent to its provider's
// node.
func singleLinkTxs(links []link) ([]txItem, error) {
	txs := make([]txItem, len(links))
	for i, l := range links {
		bz, err := types.EncodeTx(types.WrapLink(l.signed))
		if err != nil {
			return nil, err
		}
		txs[i] = txItem{node: l.provider, tx: bz, items: 1}
	}
	return txs, nil
}

// batchLinkTxs groups the links by provider, perTx to a provider-signed
// link batch, the providers' batches interleaved.
func batchLinkTxs(links []link, perTx int, chainID string, keys map[string]*keyfile.Key) ([]txItem, error) {
	byProv := map[string][]*types.SignedLink{}
	var order []string
	for _, l := range links {
		if _, ok := byProv[l.provider]; !ok {
			order = append(order, l.provider)
		}
		byProv[l.provider] = append(byProv[l.provider], l.signed)
	}
	perProv := make([][]txItem, len(order))
	for i, prov := range order {
		ls := byProv[prov]
		for first := 0; first < len(ls); first += perTx {
			b := &types.LinkBatch{ChainId: chainID, ProviderId: prov, Links: ls[first:min(first+perTx, len(ls))]}
			bz, err := types.EncodeTx(types.WrapLinkBatch(&types.SignedLinkBatch{Batch: b, Signature: keys[prov].Sign(b.SignBytes())}))
			if err != nil {
				return nil, err
			}
			perProv[i] = append(perProv[i], txItem{node: prov, tx: bz, items: len(b.Links)})
		}
	}
	return interleave(perProv), nil
}

// grantTxs signs n charges as grants of perTx charges by the providers of
// the linked people, each provider charging its own people in turn; prior
// is the charges signed for them before (the amount keeps every person
// below the cap over all of them).
func grantTxs(linked []linkedPerson, prior, n, perTx int, chainID, program string, keys map[string]*keyfile.Key) ([]txItem, int64, error) {
	byProv := map[string][]string{}
	var order []string
	for _, l := range linked {
		if _, ok := byProv[l.provider]; !ok {
			order = append(order, l.provider)
		}
		byProv[l.provider] = append(byProv[l.provider], l.mykey)
	}
	if len(order) == 0 {
		return nil, 0, errors.New("loadgen: no linked person to charge")
	}
	// The program grants 25 % of a charge up to ¥5,000 a person: keep
	// each person below the cap, or the later charges are rejected.
	perPerson := (prior + n + len(linked) - 1) / len(linked)
	amount := int64(1000)
	switch {
	case perPerson > 200:
		amount = 4 // ¥1 granted, 5,000 charges a person
	case perPerson > 20:
		amount = 100
	}
	stamp := time.Now().UnixNano()
	chargedAt := time.Now().Unix() - 60
	nTx := (n + perTx - 1) / perTx
	txs := make([]txItem, nTx)
	next := make([]int, len(order))
	var (
		mu       sync.Mutex
		firstErr error
	)
	// Assign the charges first (deterministic), sign in parallel.
	type plan struct {
		prov    string
		first   int
		n       int
		offsets int // index into the provider's people
	}
	plans := make([]plan, nTx)
	for t, k := 0, 0; t < nTx; t++ {
		pi := t % len(order)
		c := min(perTx, n-k)
		plans[t] = plan{prov: order[pi], first: k, n: c, offsets: next[pi]}
		next[pi] += c
		k += c
	}
	parallel(nTx, func(t int) {
		p := plans[t]
		people := byProv[p.prov]
		g := &types.Grant{ChainId: chainID, ProviderId: p.prov, Charges: make([]*types.Charge, p.n)}
		for j := range p.n {
			g.Charges[j] = &types.Charge{ProgramId: program, MykeyId: people[(p.offsets+j)%len(people)],
				ChargeRef: fmt.Sprintf("loadgen-%d-%d", stamp, p.first+j), AmountYen: amount, ChargedAt: chargedAt}
		}
		bz, err := types.EncodeTx(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: keys[p.prov].Sign(g.SignBytes())}))
		if err != nil {
			mu.Lock()
			firstErr = err
			mu.Unlock()
			return
		}
		txs[t] = txItem{node: p.prov, tx: bz, items: p.n}
	})
	return txs, amount, firstErr
}

// interleave takes one from each list in turn.
func interleave(lists [][]txItem) []txItem {
	var out []txItem
	for i := 0; ; i++ {
		more := false
		for _, l := range lists {
			if i < len(l) {
				out = append(out, l[i])
				more = true
			}
		}
		if !more {
			return out
		}
	}
}

// parallel runs f(0..n-1) on all CPUs.
func parallel(n int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				f(k)
			}
		})
	}
	wg.Wait()
}
