package rpctest_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/rpctest"
	"github.com/mykeyledger/mykey/internal/testca"
)

// The records the app writes are where the clients read them: after a
// link and a grant, every key client/rpc builds names a record of the
// in-process app, proved against its app hash. A client key that drifted
// from the app's (types.Key*) would find nothing.
func TestClientKeysAreTheAppsKeys(t *testing.T) {
	ctx := context.Background()
	n := rpctest.New(t, rpctest.Options{})
	opts := rpc.SubmitOptions{Timeout: 5 * time.Second, Poll: 10 * time.Millisecond}
	submit := func(what string, tx []byte) *rpc.Result {
		t.Helper()
		r, err := rpc.Submit(ctx, n, tx, opts)
		if err != nil || r.Code != 0 || len(rpc.Items(r.Events)) == 0 || !rpc.Items(r.Events)[0].Accepted() {
			t.Fatalf("%s: %v %+v", what, err, r)
		}
		return r
	}

	const program, provider, token, ref = rpctest.Program, "paypay", "account-1", "charge-1"
	card := n.CA.MustIssue(t, testca.CardOptions{})
	req := txbuild.LinkRequest(rpctest.ChainID, program, provider, token, time.Now().Add(time.Hour), card.CertDER)
	digest := sha256.Sum256(req.SignBytes())
	sig, err := rsa.SignPKCS1v15(nil, card.Key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	tx, err := txbuild.LinkTx(&types.SignedLink{Request: req, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	mykey := rpc.Items(submit("link", tx).Events)[0].Get("mykey_id")
	if !types.ValidMyKeyID(mykey) {
		t.Fatalf("link gave MyKey ID %q", mykey)
	}
	gk, err := keyfile.Load(n.ProvKeys[provider])
	if err != nil {
		t.Fatal(err)
	}
	tx, err = txbuild.GrantTx(gk, rpctest.ChainID, []*types.Charge{{
		ProgramId: program, MykeyId: mykey, ChargeRef: ref, AmountYen: 4000, ChargedAt: time.Now().Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	submit("grant", tx)

	// The certificate's record, by the index the node computes.
	res, err := n.Query(ctx, types.CertIndexPath+"/"+hex.EncodeToString(card.CertDER), false)
	if err != nil || res.Code != 0 {
		t.Fatalf("%s: %v %+v", types.CertIndexPath, err, res)
	}
	index, ok := strings.CutPrefix(string(res.Key), rpc.KeyCert(""))
	if !ok {
		t.Fatalf("certificate record at %q, clients look under %q", res.Key, rpc.KeyCert(""))
	}

	var (
		gov       types.GovState
		prov      types.Provider
		prog      types.Program
		progTot   types.ProgramTotals
		provTot   types.ProviderTotals
		cert      types.CertRecord
		mk        types.MyKeyRecord
		link      types.Linkage
		person    types.PersonTotals
		charge    types.GrantRecord
		account   string
		unmarshal = func(m interface{ Unmarshal([]byte) error }) func([]byte) error { return m.Unmarshal }
	)
	for _, c := range []struct {
		key    string
		decode func([]byte) error
		check  func() bool
	}{
		{rpc.KeyGov(), unmarshal(&gov), func() bool { return gov.Threshold > 0 }},
		{rpc.KeyProvider(provider), unmarshal(&prov), func() bool { return prov.Id == provider }},
		{rpc.KeyProgram(program), unmarshal(&prog), func() bool { return prog.Id == program }},
		{rpc.KeyProgramTotals(program), unmarshal(&progTot), func() bool { return progTot.GrantedYen > 0 }},
		{rpc.KeyProviderTotals(program, provider), unmarshal(&provTot), func() bool { return provTot.GrantedYen == progTot.GrantedYen }},
		{rpc.KeyCert(index), unmarshal(&cert), func() bool { return cert.MykeyId == mykey }},
		{rpc.KeyMyKey(mykey), unmarshal(&mk), func() bool { return mk.Id == mykey }},
		{rpc.KeyLink(program, mykey), unmarshal(&link), func() bool { return link.MykeyId == mykey && link.ProviderId == provider }},
		{rpc.KeyAccount(program, provider, txbuild.Commitment(token)), func(v []byte) error { account = string(v); return nil },
			func() bool { return account == mykey }},
		{rpc.KeyPerson(program, mykey), unmarshal(&person), func() bool { return person.GrantedYen == progTot.GrantedYen }},
		{rpc.KeyCharge(program, provider, ref), unmarshal(&charge), func() bool { return charge.ChargeRef == ref && charge.MykeyId == mykey }},
	} {
		res, err := n.Query(ctx, "/"+c.key, true)
		if err != nil {
			t.Fatal(err)
		}
		if !rpc.Found(res) {
			t.Errorf("%s: the app wrote no record there (%s)", c.key, res.Log)
			continue
		}
		if err := rpc.Verify(ctx, n, c.key, res); err != nil {
			t.Errorf("%s: %v", c.key, err)
		}
		if err := c.decode(res.Value); err != nil || !c.check() {
			t.Errorf("%s: not the record clients expect there: %v", c.key, err)
		}
	}
}
