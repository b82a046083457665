package txbuild

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

func key(t *testing.T, role, id string) *keyfile.Key {
	t.Helper()
	k, err := keyfile.Generate(role, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func decode(t *testing.T, tx []byte) *types.Tx {
	t.Helper()
	d, err := types.DecodeTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGrantTxsChunks(t *testing.T) {
	k := key(t, keyfile.RoleProvider, "paypay")
	var charges []*types.Charge
	for i := range 2500 {
		charges = append(charges, &types.Charge{ProgramId: "p", MykeyId: "0A1B2C3D", ChargeRef: fmt.Sprintf("r%d", i), AmountYen: 100, ChargedAt: 1})
	}
	txs, err := GrantTxs(k, "c", charges, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 3 || txs[0].N != 1000 || txs[1].First != 1000 || txs[2].N != 500 {
		t.Fatalf("chunks: %+v", txs)
	}
	for _, s := range txs {
		g := decode(t, s.Tx).GetGrant()
		if g.Grant.ProviderId != "paypay" || !ed25519.Verify(k.Public(), g.Grant.SignBytes(), g.Signature) {
			t.Fatal("grant not signed by the key's provider")
		}
		if g.Grant.Charges[0].ChargeRef != charges[s.First].ChargeRef || len(g.Grant.Charges) != s.N {
			t.Fatal("chunk does not hold its charges")
		}
	}
	// Long references: the byte bound splits before the count does.
	for _, ch := range charges {
		ch.ChargeRef = strings.Repeat("x", types.MaxChargeRefLen-6) + ch.ChargeRef
	}
	txs, err = GrantTxs(k, "c", charges, types.MaxChargesPerTx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range txs {
		if len(s.Tx) > MaxTxBytes {
			t.Fatalf("tx of %d bytes above %d", len(s.Tx), MaxTxBytes)
		}
		total += s.N
	}
	if total != len(charges) || len(txs) < 1 {
		t.Fatalf("%d charges in %d txs", total, len(txs))
	}
	if _, err := GrantTxs(key(t, keyfile.RoleGovernment, "g"), "c", charges, 10); err == nil {
		t.Fatal("a government key signed a grant")
	}
	if _, err := GrantTxs(k, "c", charges, types.MaxChargesPerTx+1); err == nil {
		t.Fatal("more charges per tx than the ledger takes")
	}
}

func TestLinkFileAndBatches(t *testing.T) {
	ca := testca.MustCA(t)
	card := ca.MustIssue(t, testca.CardOptions{})
	req := LinkRequest("c", "mynapoint", "paypay", "token", time.Unix(2000, 0), card.CertDER)
	if !bytes.Equal(req.AccountCommitment, Commitment("token")) || len(req.AccountCommitment) != types.CommitmentLen {
		t.Fatal("commitment")
	}
	sl := &types.SignedLink{Request: req, Signature: card.MustSign(t, req.SignBytes())}
	lf, err := NewLinkFile(sl)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "link.json")
	if err := SaveLinkFile(path, lf); err != nil {
		t.Fatal(err)
	}
	got, gsl, err := LoadLinkFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExpiresAt != "1970-01-01T00:33:20Z" || !bytes.Equal(gsl.Signature, sl.Signature) || got.Fingerprint == "" {
		t.Fatalf("round trip: %+v", got)
	}
	// An edited readable field is caught.
	var m map[string]any
	bz, _ := os.ReadFile(path)
	_ = json.Unmarshal(bz, &m)
	m["provider_id"] = "linepay"
	bz, _ = json.Marshal(m)
	_ = os.WriteFile(path, bz, 0o644)
	if _, _, err := LoadLinkFile(path); err == nil || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("edited file: %v", err)
	}
	if _, _, err := LoadProposal(path); err == nil || !strings.Contains(err.Error(), `is a "mykey-signed-link" file`) {
		t.Fatalf("wrong file type: %v", err)
	}

	// Batches split by size (a link carries a certificate).
	k := key(t, keyfile.RoleProvider, "paypay")
	links := make([]*types.SignedLink, 900)
	for i := range links {
		links[i] = sl
	}
	txs, err := LinkBatchTxs(k, "c", links)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range txs {
		b := decode(t, s.Tx).GetLinkBatch()
		if len(s.Tx) > MaxTxBytes || len(b.Batch.Links) != s.N || !ed25519.Verify(k.Public(), b.Batch.SignBytes(), b.Signature) {
			t.Fatalf("batch: %d bytes, %d links", len(s.Tx), s.N)
		}
		n += s.N
	}
	if n != 900 || len(txs) < 2 {
		t.Fatalf("%d links in %d batches", n, len(txs))
	}
	if err := CheckValidity(8 * 24 * time.Hour); err == nil {
		t.Fatal("8 days of validity accepted")
	}
}

func TestGovCombine(t *testing.T) {
	g := []*keyfile.Key{key(t, keyfile.RoleGovernment, "g0"), key(t, keyfile.RoleGovernment, "g1"), key(t, keyfile.RoleGovernment, "g2")}
	a := &types.GovAction{ChainId: "c", Sequence: 7, Action: &types.GovAction_Settle{Settle: &types.Settle{
		ProgramId: "mynapoint", ProviderId: "paypay", AmountYen: 1234567, Reference: "wire-1"}}}
	p, err := NewProposal(a)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != "settle" || !strings.Contains(p.Summary, "¥1,234,567") || p.Digest != Digest(a) {
		t.Fatalf("proposal: %+v", p)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	if err := SaveProposal(path, p); err != nil {
		t.Fatal(err)
	}
	_, a2, err := LoadProposal(path)
	if err != nil || Digest(a2) != p.Digest {
		t.Fatalf("round trip: %v", err)
	}
	var sigs []*SignatureFile
	for _, k := range g {
		s, err := SignGov(k, a2)
		if err != nil {
			t.Fatal(err)
		}
		sp := filepath.Join(dir, k.ID+".sig.json")
		if err := SaveSignature(sp, s); err != nil {
			t.Fatal(err)
		}
		if s, err = LoadSignature(sp); err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	s1, err := Combine(a, []*SignatureFile{sigs[0], sigs[1], sigs[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Combine(a, []*SignatureFile{sigs[1], sigs[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx1, _ := GovTx(s1)
	tx2, _ := GovTx(s2)
	if len(s1.Signatures) != 2 || !bytes.Equal(tx1, tx2) {
		t.Fatal("combining is not independent of order and repeats")
	}
	gs := &types.GovState{Threshold: 2, Keys: [][]byte{g[0].Public(), g[1].Public()}}
	if err := CheckAuthority(gs, s1); err != nil {
		t.Fatal(err)
	}
	if err := CheckAuthority(&types.GovState{Threshold: 3, Keys: gs.Keys}, s1); err == nil || !strings.Contains(err.Error(), "2 of the 3") {
		t.Fatalf("threshold: %v", err)
	}
	s3, _ := Combine(a, sigs, nil)
	if err := CheckAuthority(gs, s3); err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Fatalf("unknown key: %v", err)
	}
	// A signature over another action, a damaged signature.
	b := *a
	b.Sequence = 8
	other, _ := SignGov(g[2], &b)
	if _, err := Combine(a, []*SignatureFile{other}, []string{"x.sig.json"}); err == nil || !strings.Contains(err.Error(), "x.sig.json is a signature of another proposal") {
		t.Fatalf("foreign signature: %v", err)
	}
	bad := *sigs[0]
	bad.Signature = strings.Repeat("00", 64)
	if _, err := Combine(a, []*SignatureFile{&bad}, nil); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("damaged signature: %v", err)
	}
	if _, err := SignGov(key(t, keyfile.RoleProvider, "p"), a); err == nil {
		t.Fatal("a provider key signed a government action")
	}
}

func TestDescribeEveryAction(t *testing.T) {
	ref := &types.CertRef{Issuer: []byte{0x30, 0}, Serial: []byte{1}}
	actions := map[string]*types.GovAction{
		"register_provider":   {Action: &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{Provider: &types.Provider{Id: "x", Name: "X"}}}},
		"update_provider":     {Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{ProviderId: "x", Status: types.ProviderStatus_PROVIDER_STATUS_SUSPENDED}}},
		"set_program":         {Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: &types.Program{Id: "p", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: 2550, CapYen: 5000}}}},
		"revoke_certificates": {Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{Certificates: []*types.CertRef{ref}, Reason: "lost"}}},
		"succession":          {Action: &types.GovAction_Succession{Succession: &types.Succession{OldCert: ref, NewCert: ref, Reason: "renewed"}}},
		"attest_eligibility":  {Action: &types.GovAction_AttestEligibility{AttestEligibility: &types.AttestEligibility{ProgramId: "p", MykeyIds: []string{"0A1B2C3D"}}}},
		"settle":              {Action: &types.GovAction_Settle{Settle: &types.Settle{ProgramId: "p", ProviderId: "x", AmountYen: 1}}},
		"correct_linkage":     {Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{ProgramId: "p", MykeyId: "0A1B2C3D", Kind: types.CorrectionKind_CORRECTION_KIND_VOID}}},
		"set_nodes":           {Action: &types.GovAction_SetNodes{SetNodes: &types.SetNodes{Owner: "x", NodeIds: []string{strings.Repeat("ab", 20)}}}},
	}
	want := map[string]string{"register_provider": `register provider "x"`, "update_provider": "status suspended",
		"set_program": "25.5% of each charge, cap ¥5,000", "revoke_certificates": "revoke 1 certificate(s)",
		"succession": "succeeds", "attest_eligibility": "attest 1 person(s)", "settle": "record ¥1 reimbursed",
		"correct_linkage": "void the linkage of MyKey ID 0A1B2C3D", "set_nodes": `set the P2P nodes of "x" to 1 node(s), replacing its list: ` + strings.Repeat("ab", 20)}
	for name, a := range actions {
		if got := ActionName(a); got != name {
			t.Errorf("ActionName %q, want %q", got, name)
		}
		if d := Describe(a); !strings.Contains(d, want[name]) {
			t.Errorf("%s: %q lacks %q", name, d, want[name])
		}
	}
	if Yen(-1234) != "-¥1,234" || Yen(0) != "¥0" || Yen(100000) != "¥100,000" {
		t.Fatal("Yen")
	}
}

func TestValidate(t *testing.T) {
	for s, want := range map[string]bool{"0A1B2C3D": true, "0A1B2C3I": false, "0a1b2c3d": false, "0A1B2C3": false} {
		if ValidMyKeyID(s) != want {
			t.Errorf("ValidMyKeyID(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"pay.pay-1_x": true, "": false, "a/b": false, strings.Repeat("a", 33): false} {
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) != %v", s, want)
		}
	}
	if ValidChargeRef("") || ValidChargeRef("a\tb") || !ValidChargeRef("ref 1") || ValidChargeRef(strings.Repeat("r", 65)) {
		t.Error("ValidChargeRef")
	}
}
