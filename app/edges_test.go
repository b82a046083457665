package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Regression tests for the ledger's edges (each named after the defect it
// pins down): inputs that once stopped every validator or paid wrongly.

// cometVals follows the validator set the way CometBFT does: the genesis
// validators, then every block's updates through its own
// ValidatorSet.UpdateWithChangeSet.
type cometVals struct {
	t   testing.TB
	set *cmttypes.ValidatorSet
}

func newCometVals(t testing.TB) *cometVals {
	var vals []*cmttypes.Validator
	for _, seed := range []string{"val/government", "val/paypay", "val/linepay", "val/rakuten"} {
		vals = append(vals, cmttypes.NewValidator(cmted25519.PubKey(pub(testKey(seed))), 10))
	}
	return &cometVals{t: t, set: cmttypes.NewValidatorSet(vals)}
}

// apply applies a block's updates as CometBFT's state execution would.
func (v *cometVals) apply(ups []abci.ValidatorUpdate) error {
	changes, err := cmttypes.PB2TM.ValidatorUpdates(ups)
	if err != nil {
		return err
	}
	next := v.set.Copy()
	if err := next.UpdateWithChangeSet(changes); err != nil {
		return err
	}
	v.set = next
	return nil
}

// block runs a block and applies its validator updates, failing the test
// if CometBFT would refuse them (the chain would halt).
func (v *cometVals) block(n *testNet, txs ...[]byte) []*abci.ExecTxResult {
	v.t.Helper()
	res := n.finalize(txs...)
	if err := v.apply(res.ValidatorUpdates); err != nil {
		v.t.Fatalf("CometBFT refuses the block's validator updates %v: %v", res.ValidatorUpdates, err)
	}
	if _, err := n.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		v.t.Fatal(err)
	}
	return res.TxResults
}

func registerProvider(id string, valKey []byte, power int64) *types.GovAction {
	return &types.GovAction{Action: &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{Provider: &types.Provider{
		Id: id, Name: id, GrantKey: pub(testKey("provider/" + id)), ValidatorKey: valKey, Power: power}}}}
}

func setPower(id string, power int64) *types.GovAction {
	return &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
		ProviderId: id, SetPower: true, Power: power}}}
}

func TestValidatorUpdateRegisteredWithPowerZero(t *testing.T) {
	n := newTestNet(t, netOptions{})
	v := newCometVals(t)
	v.block(n)
	res := v.block(n, n.govTx(1, registerProvider("edgepay", pub(testKey("val/edgepay")), 0)))
	wantCode(t, res[0], types.ErrMalformed)
}

func TestValidatorUpdateRegisterThenZeroSameBlock(t *testing.T) {
	n := newTestNet(t, netOptions{})
	v := newCometVals(t)
	v.block(n)
	key := pub(testKey("val/edgepay"))
	res := v.block(n, n.govTx(1, registerProvider("edgepay", key, 5)), n.govTx(1, setPower("edgepay", 0)))
	wantCode(t, res[0], nil)
	wantCode(t, res[1], nil)
	if _, val := v.set.GetByAddress(cmted25519.PubKey(key).Address()); val != nil {
		t.Fatalf("edgepay is a validator with power %d", val.VotingPower)
	}
	// Registered and powered in one block, removed in the next: both apply.
	v.block(n, n.govTx(1, setPower("edgepay", 7)))
	if _, val := v.set.GetByAddress(cmted25519.PubKey(key).Address()); val == nil || val.VotingPower != 7 {
		t.Fatalf("edgepay validator %v, want power 7", val)
	}
	v.block(n, n.govTx(1, setPower("edgepay", 0)))
	if v.set.Size() != 4 {
		t.Fatalf("%d validators, want 4", v.set.Size())
	}
}

func TestValidatorUpdateAboveMaxTotalVotingPower(t *testing.T) {
	n := newTestNet(t, netOptions{})
	v := newCometVals(t)
	v.block(n)
	res := v.block(n, n.govTx(1, setPower("paypay", 1152921504606846975)))
	wantCode(t, res[0], types.ErrInvalidAction)
	// Just below the limit for one validator, but the total is above it.
	res = v.block(n, n.govTx(1, setPower("paypay", cmttypes.MaxTotalVotingPower-5)))
	wantCode(t, res[0], types.ErrInvalidAction)
	// Two actions each fine alone, together above the limit: the second
	// is rejected.
	half := cmttypes.MaxTotalVotingPower / 2
	res = v.block(n, n.govTx(1, setPower("paypay", half)), n.govTx(1, setPower("linepay", half)))
	wantCode(t, res[0], nil)
	wantCode(t, res[1], types.ErrInvalidAction)
	// Removing every validator is refused too.
	res = v.block(n, n.govTx(1, setPower("paypay", 0)), n.govTx(1, setPower("linepay", 0)), n.govTx(1, setPower("rakuten", 0)))
	for i := range res {
		wantCode(t, res[i], nil)
	}
	if v.set.Size() != 1 {
		t.Fatalf("%d validators left, want the government's", v.set.Size())
	}
}

func TestRejectedGovActionSendsNoValidatorUpdate(t *testing.T) {
	n := newTestNet(t, netOptions{})
	v := newCometVals(t)
	v.block(n)
	// A key rotation queued before the power check fails.
	a := &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
		ProviderId: "paypay", ValidatorKey: pub(testKey("val/paypay-2")), SetPower: true, Power: -1}}}
	res := n.finalize(n.govTx(1, a))
	wantCode(t, res.TxResults[0], types.ErrInvalidAction)
	if len(res.ValidatorUpdates) != 0 {
		t.Fatalf("rejected action sent validator updates %v", res.ValidatorUpdates)
	}
	n.app.Commit(context.Background(), &abci.CommitRequest{})
	// The key was not claimed either: another provider may take it.
	res2 := v.block(n, n.govTx(1, registerProvider("edgepay", pub(testKey("val/paypay-2")), 3)))
	wantCode(t, res2[0], nil)
}

func TestSuccessionOfTwoVoidedGrantedIDsIsNoGoError(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	old, renewed := n.card(), n.card()
	wantCode(t, n.block(n.linkTx(old, "mynapoint", "paypay", "a"), n.linkTx(renewed, "mynapoint", "linepay", "b"))[0], nil)
	idOld, idNew := n.mykeyOf(old), n.mykeyOf(renewed)
	n.block(n.grantTx("paypay", charge("mynapoint", idOld, "p1", 16000)), n.grantTx("linepay", charge("mynapoint", idNew, "l1", 16000)))
	for _, id := range []string{idOld, idNew} {
		wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
			ProgramId: "mynapoint", MykeyId: id, Kind: types.CorrectionKind_CORRECTION_KIND_VOID, IncidentRef: "INC-1"}}}))[0], nil)
	}
	// CheckTx and FinalizeBlock judge the succession without a Go error.
	tx := n.govTx(1, succession(old.Cert, renewed.Cert))
	if res, err := n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK}); err != nil || res.Code != 0 {
		t.Fatalf("CheckTx: %v %+v", err, res)
	}
	wantCode(t, n.block(tx)[0], nil)
	// 8,000 paid against a cap of 5,000: 3,000 is recovered from the
	// later linkage's provider (linepay's was made in the same block,
	// after paypay's).
	if got := overGranted(t, n, "linepay"); got != 3000 || overGranted(t, n, "paypay") != 0 {
		t.Fatalf("over-grant %d against linepay, %d against paypay; want 3000 and 0", got, overGranted(t, n, "paypay"))
	}
}

func TestGovActionNearMaxTxBytes(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	var refs []*types.CertRef
	for i := 0; i < 1100; i++ {
		refs = append(refs, &types.CertRef{Issuer: bytes.Repeat([]byte{byte(i)}, 1000), Serial: []byte{byte(i), byte(i >> 8), 1}})
	}
	tx := n.govTx(1, &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
		Certificates: refs, Reason: "too many"}}})
	if len(tx) < types.MaxGovActionBytes {
		t.Fatalf("test action is only %d bytes", len(tx))
	}
	wantCode(t, n.block(tx)[0], types.ErrTooLarge)
	n.govSeq-- // refused before its signatures are counted: nothing used
	// Below the action limit, every record stays below the store's limit.
	tx = n.govTx(1, &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
		Certificates: refs[:1000], Reason: "many"}}})
	wantCode(t, n.block(tx)[0], nil)
}

func fixedProgram(id string, fixed, budget int64) types.GenesisProgram {
	return genesis.NewProgramFixed(id, fixed, budget, t0, windowEnd)
}

func attest(program string, ids ...string) *types.GovAction {
	return &types.GovAction{Action: &types.GovAction_AttestEligibility{AttestEligibility: &types.AttestEligibility{ProgramId: program, MykeyIds: ids}}}
}

func TestFixedProgramPaysOncePerPerson(t *testing.T) {
	n := newTestNet(t, netOptions{programs: []types.GenesisProgram{fixedProgram("flat", 7500, 10000)}})
	n.block()
	a, b := n.card(), n.card()
	n.block(n.linkTx(a, "flat", "paypay", "a"), n.linkTx(b, "flat", "paypay", "b"))
	ida, idb := n.mykeyOf(a), n.mykeyOf(b)
	n.block(n.govTx(1, attest("flat", ida, idb)))
	// A cap above the fixed amount is refused, by the app as by genesis.
	p := &types.Program{Id: "flat2", Name: "flat2", Kind: types.ProgramKind_PROGRAM_KIND_FIXED, FixedYen: 7500, CapYen: 15000,
		LinkStart: t0.Unix(), LinkEnd: windowEnd.Unix(), GrantStart: t0.Unix(), GrantEnd: windowEnd.Unix(), BudgetYen: 100000}
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: p}}}))[0], types.ErrMalformed)
	gp := fixedProgram("flat2", 7500, 100000)
	gp.CapYen = 15000
	if err := (&types.GenesisState{Programs: []types.GenesisProgram{gp}}).Validate(); err == nil || !strings.Contains(err.Error(), "cap_yen") {
		t.Fatalf("genesis accepts a fixed program with a cap above its amount: %v", err)
	}

	res := n.block(n.grantTx("paypay", charge("flat", ida, "1", 1000), charge("flat", ida, "2", 1000)))
	if attr(res[0], 0, "granted_yen") != "7500" || attr(res[0], 1, "reason") != types.ErrCapReached.Name {
		t.Fatalf("first person: %v / %v", res[0].Events[0], res[0].Events[1])
	}
	// 2,500 of the budget is left, less than 7,500: nothing is paid.
	res = n.block(n.grantTx("paypay", charge("flat", idb, "3", 1000)))
	wantCode(t, res[0], types.ErrBudgetExhausted)
	pt := n.programTotals("flat")
	if pt.GrantedYen != 7500 {
		t.Fatalf("program granted %d, want 7500", pt.GrantedYen)
	}
}

func TestMergeOverGrantChargedToTheLaterVoidedLinkage(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	old, renewed := n.card(), n.card()
	n.block(n.linkTx(old, "mynapoint", "paypay", "a"))
	n.block(n.linkTx(renewed, "mynapoint", "linepay", "b")) // the later linkage
	idOld, idNew := n.mykeyOf(old), n.mykeyOf(renewed)
	n.block(n.grantTx("paypay", charge("mynapoint", idOld, "p1", 20000)), n.grantTx("linepay", charge("mynapoint", idNew, "l1", 20000)))
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "mynapoint", MykeyId: idNew, Kind: types.CorrectionKind_CORRECTION_KIND_VOID, IncidentRef: "INC-2"}}}))[0], nil)
	wantCode(t, n.block(n.govTx(1, succession(old.Cert, renewed.Cert)))[0], nil)
	if got := overGranted(t, n, "linepay"); got != 5000 || overGranted(t, n, "paypay") != 0 {
		t.Fatalf("over-grant %d against linepay, whose later linkage was voided, %d against paypay; want 5000 and 0", got, overGranted(t, n, "paypay"))
	}
	var vt types.ProviderTotals
	n.query(types.KeyProviderTotals("mynapoint", "paypay"), &vt)
	if vt.RecoveredYen != 0 {
		t.Fatalf("paypay, which paid legitimately, has %d yen to recover", vt.RecoveredYen)
	}
}

func TestVoidedLinkageNotRevivedByReplay(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	card := n.card()
	tx := n.linkTx(card, "mynapoint", "paypay", "kiosk-account")
	wantCode(t, n.block(tx)[0], nil)
	id := n.mykeyOf(card)
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "mynapoint", MykeyId: id, Kind: types.CorrectionKind_CORRECTION_KIND_VOID, IncidentRef: "KIOSK-113"}}}))[0], nil)
	wantCode(t, n.block(tx)[0], types.ErrReplayed)
	// In a batch too.
	wantCode(t, n.block(n.batchTx("paypay", mustDecode(t, tx).GetLink()))[0], types.ErrReplayed)
	// The citizen signs anew and links where they mean to.
	wantCode(t, n.block(n.linkTx(card, "mynapoint", "linepay", "own-account"))[0], nil)
}

func mustDecode(t *testing.T, bz []byte) *types.Tx {
	tx, err := types.DecodeTx(bz)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestRejectedLinkRequestCannotTakeEffectLater(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	card := n.card()
	wantCode(t, n.block(n.linkTx(card, "mynapoint", "paypay", "first"))[0], nil)
	// Signed for linepay, rejected: already linked. Voiding the paypay
	// linkage must not let this old request through.
	tx := n.linkTx(card, "mynapoint", "linepay", "second")
	wantCode(t, n.block(tx)[0], types.ErrAlreadyLinked)
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "mynapoint", MykeyId: n.mykeyOf(card), Kind: types.CorrectionKind_CORRECTION_KIND_VOID, IncidentRef: "INC-3"}}}))[0], nil)
	wantCode(t, n.block(tx)[0], types.ErrReplayed)
}

// smallOrderKeys are encodings of points of small order (and the identity),
// with which ed25519 signatures can be forged.
var smallOrderKeys = [][]byte{
	make([]byte, 32),                       // y = 0, order 4
	append([]byte{1}, make([]byte, 31)...), // the identity
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // y = -1, order 2
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, // order 8
}

func TestSmallOrderKeysRefused(t *testing.T) {
	for i, k := range smallOrderKeys {
		if err := types.ValidKey(k); err == nil {
			t.Errorf("small-order key %d accepted", i)
		}
	}
	// A non-canonical encoding (y ≥ p) of a valid point.
	nonCanonical := []byte{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if types.ValidKey(nonCanonical) == nil {
		t.Error("non-canonical key accepted")
	}
	if err := types.ValidKey(pub(testKey("good"))); err != nil {
		t.Fatalf("good key refused: %v", err)
	}

	n := newTestNet(t, netOptions{})
	n.block()
	zero := make([]byte, 32)
	a := registerProvider("forger", nil, 0)
	a.GetRegisterProvider().Provider.GrantKey = zero
	wantCode(t, n.block(n.govTx(1, a))[0], types.ErrMalformed)
	rot := &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{ProviderId: "paypay", GrantKey: zero}}}
	wantCode(t, n.block(n.govTx(1, rot))[0], types.ErrMalformed)
	rot = &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{ProviderId: "paypay", ValidatorKey: smallOrderKeys[3]}}}
	wantCode(t, n.block(n.govTx(1, rot))[0], types.ErrMalformed)

	// Genesis refuses them as authority, grant and validator keys, and so
	// does InitChain.
	for _, edit := range []func(*types.GenesisState){
		func(s *types.GenesisState) { s.Government.Keys[0] = zero },
		func(s *types.GenesisState) { s.Providers[0].GrantKey = smallOrderKeys[2] },
		func(s *types.GenesisState) { s.Providers[0].ValidatorKey = smallOrderKeys[1] },
	} {
		var s types.GenesisState
		if err := json.Unmarshal(n.genesis, &s); err != nil {
			t.Fatal(err)
		}
		edit(&s)
		if s.Validate() == nil {
			t.Error("genesis validation accepts a small-order key")
		}
		if initChain(t, &s) == nil {
			t.Error("InitChain accepts a small-order key")
		}
	}
}

// initChain runs InitChain on a fresh in-memory app with the app state.
func initChain(t testing.TB, s *types.GenesisState) error {
	bz, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{PseudonymKey: &testPseudonymKey, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, Time: t0, AppStateBytes: bz, InitialHeight: 1})
	return err
}

func TestGenesisValidationAndInitChainAgree(t *testing.T) {
	n := newTestNet(t, netOptions{})
	base := func() *types.GenesisState {
		var s types.GenesisState
		if err := json.Unmarshal(n.genesis, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	for _, tc := range []struct {
		name string
		edit func(*types.GenesisState)
		ok   bool
	}{
		{"provider name in Japanese", func(s *types.GenesisState) { s.Providers[0].Name = "ペイペイ" }, true},
		{"budget above 10^15", func(s *types.GenesisState) { s.Programs[0].BudgetYen = 1_000_000_000_000_001 }, false},
		{"cap above 10^12", func(s *types.GenesisState) { s.Programs[0].CapYen = 1_000_000_000_001 }, false},
		{"id dot", func(s *types.GenesisState) { s.Providers[0].ID = "." }, false},
		{"validator key with power 0", func(s *types.GenesisState) { s.Providers[0].Power = 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(s)
			verr, ierr := s.Validate(), initChain(t, s)
			if (verr == nil) != tc.ok || (ierr == nil) != tc.ok {
				t.Fatalf("genesis validation: %v; InitChain: %v; want ok=%v from both", verr, ierr, tc.ok)
			}
		})
	}
}

// FuzzGenesisInitChain: whatever genesis validation accepts, InitChain
// accepts.
func FuzzGenesisInitChain(f *testing.F) {
	// The seed is built without a test CA (whose RSA keys would make every
	// fuzz worker slow to start): the production J-LIS roots are anchors.
	gs := types.GenesisState{
		Government: types.GenesisGovernment{Threshold: 1, Name: "government",
			Keys:         []types.HexBytes{types.HexBytes(pub(testKey("gov/0")))},
			ValidatorKey: types.HexBytes(pub(testKey("val/government"))), Power: 10},
		Programs: []types.GenesisProgram{
			genesis.NewProgramPercent("mynapoint", 2500, 5000, 1_000_000_000, t0, windowEnd),
			fixedProgram("flat", 7500, 1_000_000)},
		TrustAnchors:        genesis.ProductionTrustAnchors(),
		PseudonymCommitment: pseudonym.Commitment(testPseudonymKey),
	}
	for _, id := range []string{"paypay", "linepay"} {
		gs.Providers = append(gs.Providers, types.GenesisProvider{ID: id, Name: id,
			GrantKey:     types.HexBytes(pub(testKey("provider/" + id))),
			ValidatorKey: types.HexBytes(pub(testKey("val/" + id))), Power: 10})
	}
	seed, err := json.Marshal(gs)
	if err != nil {
		f.Fatal(err)
	}
	if err := gs.Validate(); err != nil {
		f.Fatalf("seed genesis: %v", err)
	}
	f.Add(seed)
	f.Add([]byte(strings.Replace(string(seed), `"paypay"`, `"ペイペイ"`, 1)))
	f.Add([]byte(strings.Replace(string(seed), `"budget_yen":1000000000`, `"budget_yen":1000000000000001`, 1)))
	// One app serves every input: InitChain may run again until the first
	// commit (it starts its stage over).
	a, err := New(Options{PseudonymKey: &testPseudonymKey, InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	f.Fuzz(func(t *testing.T, bz []byte) {
		s, err := types.DecodeGenesisState(bz)
		if err != nil || s.Validate() != nil {
			return
		}
		_, err = a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, Time: t0, AppStateBytes: bz, InitialHeight: 1})
		if !pseudonym.Matches(testPseudonymKey, s.PseudonymCommitment) {
			// A commitment to another key is another network's genesis.
			if err == nil || !strings.Contains(err.Error(), "pseudonym key") {
				t.Fatalf("InitChain with another network's pseudonym commitment: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("genesis validation accepts what InitChain refuses: %v", err)
		}
	})
}

func TestCheckTxBeforeFirstCommit(t *testing.T) {
	n := newTestNet(t, netOptions{})
	for _, tx := range [][]byte{
		n.govTx(1, setPower("paypay", 3)),
		n.grantTx("paypay", charge("mynapoint", "00000000", "r", 100)),
		n.linkTx(n.card(), "mynapoint", "paypay", "a"),
	} {
		res, err := n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
		if err != nil {
			t.Fatalf("CheckTx before the first commit: Go error %v", err)
		}
		if res.Code != types.ErrNotReady.Code {
			t.Fatalf("CheckTx before the first commit: code %d %q", res.Code, res.Log)
		}
	}
}

func TestRejectedGovActionUsesItsSequence(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	tx := n.govTx(1, &types.GovAction{Action: &types.GovAction_Settle{Settle: &types.Settle{
		ProgramId: "mynapoint", ProviderId: "paypay", AmountYen: 100, Reference: "S-1"}}})
	wantCode(t, n.block(tx)[0], types.ErrSettlementTooLarge)
	var hist types.HistoryEntry
	if !n.query(types.KeyHistory(1), &hist) || hist.Code != types.ErrSettlementTooLarge.Code {
		t.Fatalf("history entry of the rejected action: %+v", hist)
	}
	// Once the state would let it through, the replay is still refused.
	_, _, id := linkedOn(t, n)
	n.block(n.grantTx("paypay", charge("mynapoint", id, "g", 10000)))
	wantCode(t, n.block(tx)[0], types.ErrBadSequence)
	// An action with too few signatures uses nothing.
	n2 := newTestNet(t, netOptions{govKeys: 2, threshold: 2})
	n2.block()
	wantCode(t, n2.block(n2.govTx(1, setPower("paypay", 3)))[0], types.ErrUnauthorized)
	n2.govSeq--
	wantCode(t, n2.block(n2.govTx(2, setPower("paypay", 3)))[0], nil)
}

// linkedOn links a new card to paypay on n.
func linkedOn(t *testing.T, n *testNet) (*testNet, *testca.Card, string) {
	card := n.card()
	wantCode(t, n.block(n.linkTx(card, "mynapoint", "paypay", "acct-"+card.Cert.SerialNumber.String()))[0], nil)
	return n, card, n.mykeyOf(card)
}

func TestRejectedChargeCannotTakeEffectLater(t *testing.T) {
	n := newTestNet(t, netOptions{programs: []types.GenesisProgram{genesis.NewProgramPercent("tight", 2500, 5000, 1000, t0, windowEnd)}})
	n.block()
	card := n.card()
	wantCode(t, n.block(n.linkTx(card, "tight", "paypay", "a"))[0], nil)
	id := n.mykeyOf(card)
	wantCode(t, n.block(n.grantTx("paypay", charge("tight", id, "r1", 4000)))[0], nil) // the whole budget
	tx := n.grantTx("paypay", charge("tight", id, "r2", 4000))
	wantCode(t, n.block(tx)[0], types.ErrBudgetExhausted)
	var rec types.GrantRecord
	if !n.query(types.KeyCharge("tight", "paypay", "r2"), &rec) || rec.Code != types.ErrBudgetExhausted.Code || rec.GrantedYen != 0 {
		t.Fatalf("rejected charge record %+v", rec)
	}
	p := &types.Program{Id: "tight", Name: "tight", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: 2500, CapYen: 5000,
		LinkStart: t0.Unix(), LinkEnd: windowEnd.Unix(), GrantStart: t0.Unix(), GrantEnd: windowEnd.Unix(), BudgetYen: 100000}
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: p}}}))[0], nil)
	wantCode(t, n.block(tx)[0], types.ErrDuplicateCharge)
	pt := n.programTotals("tight")
	if pt.GrantedYen != 1000 || pt.Grants != 1 {
		t.Fatalf("program totals %+v", pt)
	}
}

func TestMergeKeepsTheLosersAttestation(t *testing.T) {
	n := newTestNet(t, netOptions{programs: []types.GenesisProgram{
		genesis.NewProgramPercent("mynapoint", 2500, 5000, 1_000_000_000, t0, windowEnd),
		fixedProgram("flat", 7500, 1_000_000)}})
	n.block()
	old, renewed := n.card(), n.card()
	n.block(n.linkTx(old, "mynapoint", "paypay", "a"))
	n.block(n.linkTx(renewed, "mynapoint", "linepay", "b"))
	idOld, idNew := n.mykeyOf(old), n.mykeyOf(renewed)
	// The renewed ID (the loser) is attested for the fixed program but not
	// linked in it.
	wantCode(t, n.block(n.govTx(1, attest("flat", idNew)))[0], nil)
	wantCode(t, n.block(n.govTx(1, succession(old.Cert, renewed.Cert)))[0], nil)
	wantCode(t, n.block(n.linkTx(old, "flat", "paypay", "c"))[0], nil)
	wantCode(t, n.block(n.grantTx("paypay", charge("flat", idOld, "f1", 1)))[0], nil)
}

func TestAliasCertificatesOfOnePerson(t *testing.T) {
	// A card and a smartphone certificate, both valid at once.
	n := newTestNet(t, netOptions{})
	n.block()
	card := n.card()
	phone := n.ca.MustIssue(t, testca.CardOptions{NotBefore: t0.Add(-time.Hour), NotAfter: windowEnd.Add(time.Hour)})
	// Both claim before the government maps the phone to the card.
	n.block(n.linkTx(card, "mynapoint", "paypay", "card-acct"))
	n.block(n.linkTx(phone, "mynapoint", "linepay", "phone-acct"))
	idCard, idPhone := n.mykeyOf(card), n.mykeyOf(phone)
	n.block(n.grantTx("paypay", charge("mynapoint", idCard, "p1", 12000)), n.grantTx("linepay", charge("mynapoint", idPhone, "l1", 12000)))
	alias := succession(card.Cert, phone.Cert)
	alias.GetSuccession().Reason = "smartphone JPKI certificate"
	wantCode(t, n.block(n.govTx(1, alias))[0], nil)
	// The later claim (linepay's) is voided and its over-grant recorded.
	if got := overGranted(t, n, "linepay"); got != 1000 {
		t.Fatalf("over-grant %d against linepay, want 1000", got)
	}
	if n.mykeyOf(phone) != idCard {
		t.Fatalf("phone maps to %s, want the card's %s", n.mykeyOf(phone), idCard)
	}
	// Either certificate may act from now on: the phone's links in a new
	// program under the person's one ID, and claims are judged per person.
	p := &types.Program{Id: "phase2", Name: "phase2", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: 2500, CapYen: 5000,
		LinkStart: t0.Unix(), LinkEnd: windowEnd.Unix(), GrantStart: t0.Unix(), GrantEnd: windowEnd.Unix(), BudgetYen: 100000}
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: p}}}))[0], nil)
	res := n.block(n.linkTx(phone, "phase2", "rakuten", "r"))
	wantCode(t, res[0], nil)
	if attr(res[0], 0, "mykey_id") != idCard {
		t.Fatalf("phone linked as %s, want %s", attr(res[0], 0, "mykey_id"), idCard)
	}
	wantCode(t, n.block(n.linkTx(card, "phase2", "paypay", "c2"))[0], types.ErrAlreadyLinked)
	// A grant addressed to the phone's old ID reaches the person.
	res = n.block(n.grantTx("rakuten", charge("phase2", idPhone, "r1", 40000)))
	if attr(res[0], 0, "granted_yen") != "5000" || attr(res[0], 0, "mykey_id") != idCard {
		t.Fatalf("grant through the alias: %v", res[0].Events)
	}
}

// overGranted sums the over-grants recorded against a provider in
// mynapoint.
func overGranted(t *testing.T, n *testNet, provider string) int64 {
	var sum int64
	err := n.app.store.Iterate([]byte(types.PrefixOverGrant+"mynapoint/"+provider+"/"), func(k, v []byte) bool {
		var og types.OverGrant
		if err := og.Unmarshal(v); err != nil {
			t.Fatal(err)
		}
		sum += og.AmountYen
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestCertificatesOfTwoCAKeysWithOneName: J-LIS's 2015 and 2023 roots have
// the same subject, so a serial number issued under both keys names two
// certificates by one (issuer, serial). The second person must not act as
// the first.
func TestCertificatesOfTwoCAKeysWithOneName(t *testing.T) {
	ca2023, err := testca.NewCA(testca.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := newTestNet(t, netOptions{moreAnchors: []*testca.CA{ca2023}})
	if !bytes.Equal(n.ca.Cert.RawSubject, ca2023.Cert.RawSubject) {
		t.Fatal("the two test roots should share a subject")
	}
	n.block()
	first := n.card()
	second := ca2023.MustIssue(t, testca.CardOptions{Serial: first.Cert.SerialNumber.Int64()})
	if !bytes.Equal(first.Cert.RawIssuer, second.Cert.RawIssuer) || first.Cert.SerialNumber.Cmp(second.Cert.SerialNumber) != 0 {
		t.Fatal("the two cards should share issuer and serial")
	}
	res := n.block(n.linkTx(first, "mynapoint", "paypay", "first-acct"))
	wantCode(t, res[0], nil)
	id := attr(res[0], 0, "mykey_id")
	// The other person's card verifies (its CA is an anchor) but is not the
	// first person's certificate.
	res = n.block(n.linkTx(second, "mynapoint", "linepay", "second-acct"))
	wantCode(t, res[0], types.ErrCertConflict)
	if got := attr(res[0], 0, "mykey_id"); got == id {
		t.Fatalf("the second card was told the first person's MyKey ID %s", got)
	}
	// Nor can it reach the first person's ID in another program, or as a
	// retry with the first person's provider and account.
	res = n.block(n.linkTx(second, "mynapoint", "paypay", "first-acct"))
	wantCode(t, res[0], types.ErrCertConflict)
	// The first card still acts.
	wantCode(t, n.block(n.linkTx(first, "mynapoint", "paypay", "first-acct"))[0], types.ErrAlreadyLinked)
}
