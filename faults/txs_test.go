package faults

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/node"
)

// Transactions the suite signs itself, as a provider's or a kiosk's
// software would, with the test CA's cards and the testnet's keys.

// signLink signs a card's link request; mutate, if set, changes the
// request after it is signed (to forge one).
func signLink(tb testing.TB, card *testca.Card, chain, provider, token string, expires time.Time, mutate func(*types.LinkRequest)) []byte {
	tb.Helper()
	req := txbuild.LinkRequest(chain, program, provider, token, expires, card.CertDER)
	sig, err := card.Sign(req.SignBytes())
	if err != nil {
		tb.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	bz, err := txbuild.LinkTx(&types.SignedLink{Request: req, Signature: sig})
	if err != nil {
		tb.Fatal(err)
	}
	return bz
}

// linkTx is a card's link to provider for the account behind token,
// valid for an hour.
func (c *cluster) linkTx(tb testing.TB, card *testca.Card, provider, token string) []byte {
	return signLink(tb, card, chainID, provider, token, time.Now().Add(time.Hour), nil)
}

// charge is one charge made a minute ago.
func charge(mykey, ref string, amount int64) *types.Charge {
	return &types.Charge{ProgramId: program, MykeyId: mykey, ChargeRef: ref, AmountYen: amount,
		ChargedAt: time.Now().Add(-time.Minute).Unix()}
}

// grantTx is a provider's signed grant of the charges.
func (c *cluster) grantTx(tb testing.TB, provider string, charges ...*types.Charge) []byte {
	tb.Helper()
	bz, err := txbuild.GrantTx(c.keys[provider], chainID, charges)
	if err != nil {
		tb.Fatal(err)
	}
	return bz
}

// signGrant signs a grant with key as provider (any key: to forge one);
// mutate, if set, changes the grant after it is signed.
func signGrant(tb testing.TB, key *keyfile.Key, chain, provider string, mutate func(*types.Grant), charges ...*types.Charge) []byte {
	tb.Helper()
	g := &types.Grant{ChainId: chain, ProviderId: provider, Charges: charges}
	sig := key.Sign(g.SignBytes())
	if mutate != nil {
		mutate(g)
	}
	bz, err := types.EncodeTx(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: sig}))
	if err != nil {
		tb.Fatal(err)
	}
	return bz
}

// govTx signs a government action with the given authority keys (ordered
// by public key, as the client orders them); mutate, if set, changes the
// action after it is signed.
func govTx(tb testing.TB, a *types.GovAction, mutate func(*types.GovAction), signers ...*keyfile.Key) []byte {
	tb.Helper()
	sg := &types.SignedGov{Action: a}
	for _, k := range signers {
		sg.Signatures = append(sg.Signatures, &types.GovSignature{PublicKey: k.Public(), Signature: k.Sign(a.SignBytes())})
	}
	sort.Slice(sg.Signatures, func(i, j int) bool {
		return bytes.Compare(sg.Signatures[i].PublicKey, sg.Signatures[j].PublicKey) < 0
	})
	if mutate != nil {
		mutate(a)
	}
	bz, err := types.EncodeTx(types.WrapGov(sg))
	if err != nil {
		tb.Fatal(err)
	}
	return bz
}

// revokeAction revokes a card's certificate.
func revokeAction(seq uint64, card *testca.Card, reason string) *types.GovAction {
	return &types.GovAction{ChainId: chainID, Sequence: seq, Action: &types.GovAction_RevokeCertificates{
		RevokeCertificates: &types.RevokeCertificates{
			Certificates: []*types.CertRef{{Issuer: card.Cert.RawIssuer, Serial: card.Cert.SerialNumber.Bytes()}},
			Reason:       reason,
		}}}
}

// fingerprint is how the ledger names a card's certificate.
func fingerprint(tb testing.TB, card *testca.Card) string {
	tb.Helper()
	fp, err := txbuild.Fingerprint(card.CertDER)
	if err != nil {
		tb.Fatal(err)
	}
	return fp
}

// certIndex is the card certificate's index on the ledger (hex, its cert/
// key), under the network pseudonym key every node of the test network
// holds.
func (c *cluster) certIndex(card *testca.Card) string {
	pk, err := pseudonym.LoadFile(filepath.Join(c.lay.Nodes[0].Home, node.DefaultPseudonymKeyFile))
	if err != nil {
		panic(err) // mykeyd testnet wrote it
	}
	id := jpki.IDOf(card.Cert)
	return hex.EncodeToString(pk.CertIndex(id.Issuer, id.Serial))
}

// issue issues a card from the network's test CA.
func (c *cluster) issue(tb testing.TB) *testca.Card {
	tb.Helper()
	card, err := c.ca.Issue(testca.CardOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return card
}

func hexHash(tx []byte) string {
	return fmt.Sprintf("%X", txHash(tx))
}
