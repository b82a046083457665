package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
)

// broadcast sends tx to the mempool and returns its hash.
func (n *testNet) broadcast(tx []byte) ([]byte, error) {
	res, err := n.rpc.BroadcastTxSync(context.Background(), tx)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, fmt.Errorf("CheckTx: code %d: %s", res.Code, res.Log)
	}
	return res.Hash, nil
}

// await waits for a transaction to be in a block and returns its result.
func (n *testNet) await(hash []byte, timeout time.Duration) (*abci.ExecTxResult, error) {
	deadline := time.Now().Add(timeout)
	for {
		res, err := n.rpc.Tx(context.Background(), hash, false)
		if err == nil {
			return &res.TxResult, nil
		}
		if !strings.Contains(err.Error(), "not found") || time.Now().After(deadline) {
			return nil, fmt.Errorf("tx %X: %w", hash, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// submit sends tx and waits for its result; a rejected tx is an error.
func (n *testNet) submit(tx []byte) (*abci.ExecTxResult, error) {
	hash, err := n.broadcast(tx)
	if err != nil {
		return nil, err
	}
	res, err := n.await(hash, time.Minute)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return res, fmt.Errorf("tx rejected: code %d: %s", res.Code, res.Log)
	}
	return res, nil
}

// govTx signs an action with the authority key and the next sequence.
func (n *testNet) govTx(a *types.GovAction) ([]byte, error) {
	a.ChainId, a.Sequence = n.chainID, n.govSeq
	n.govSeq++
	s := &types.SignedGov{Action: a, Signatures: []*types.GovSignature{{PublicKey: n.gov.Public(), Signature: n.gov.Sign(a.SignBytes())}}}
	return types.EncodeTx(types.WrapGov(s))
}

// govDo submits a government action and requires it accepted.
func (n *testNet) govDo(a *types.GovAction) error {
	tx, err := n.govTx(a)
	if err != nil {
		return err
	}
	res, err := n.submit(tx)
	if err != nil {
		return err
	}
	if o := attr(res.Events, 0, "outcome"); o != "accepted" {
		return fmt.Errorf("government action %d: %s: %s", a.Sequence, o, attr(res.Events, 0, "log"))
	}
	return nil
}

// registerProvider registers a provider without a validator.
func (n *testNet) registerProvider(id, name string) error {
	seed := sha256.Sum256([]byte("audit-test/provider/" + id))
	k := ed25519.NewKeyFromSeed(seed[:])
	n.provs[id] = k
	return n.govDo(&types.GovAction{Action: &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{
		Provider: &types.Provider{Id: id, Name: name, GrantKey: k.Public().(ed25519.PublicKey)}}}})
}

// card issues a test card.
func (n *testNet) card() (*testca.Card, error) {
	return n.ca.Issue(testca.CardOptions{Key: n.cardKey})
}

func commitment(account string) []byte {
	s := sha256.Sum256([]byte("link-token/" + account))
	return s[:]
}

// link links cards to provider's accounts in program (one link batch)
// and returns the MyKey IDs the ledger issued, in order.
func (n *testNet) link(program, provider string, cards []*testca.Card, accounts []string) ([]string, error) {
	now, err := n.blockTime()
	if err != nil {
		return nil, err
	}
	b := &types.LinkBatch{ChainId: n.chainID, ProviderId: provider}
	for i, c := range cards {
		req := &types.LinkRequest{ChainId: n.chainID, ProgramId: program, ProviderId: provider,
			AccountCommitment: commitment(accounts[i]), ExpiresAt: now.Add(time.Hour).Unix(), Certificate: c.CertDER}
		sig, err := c.Sign(req.SignBytes())
		if err != nil {
			return nil, err
		}
		b.Links = append(b.Links, &types.SignedLink{Request: req, Signature: sig})
	}
	tx, err := types.EncodeTx(types.WrapLinkBatch(&types.SignedLinkBatch{Batch: b, Signature: ed25519.Sign(n.provs[provider], b.SignBytes())}))
	if err != nil {
		return nil, err
	}
	res, err := n.submit(tx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for i := range res.Events {
		if res.Events[i].Type != "link" {
			continue
		}
		if o := attr(res.Events, i, "outcome"); o != "accepted" {
			return nil, fmt.Errorf("link %d: %s", len(ids), attr(res.Events, i, "log"))
		}
		ids = append(ids, attr(res.Events, i, "mykey_id"))
	}
	if len(ids) != len(cards) {
		return nil, fmt.Errorf("%d link results for %d cards", len(ids), len(cards))
	}
	return ids, nil
}

// grantTx signs charges as one grant of provider.
func (n *testNet) grantTx(provider string, charges []*types.Charge) ([]byte, error) {
	g := &types.Grant{ChainId: n.chainID, ProviderId: provider, Charges: charges}
	return types.EncodeTx(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: ed25519.Sign(n.provs[provider], g.SignBytes())}))
}

// granted reads the yen granted per charge from a grant's events; any
// rejected charge is an error.
func granted(res *abci.ExecTxResult) ([]int64, error) {
	var out []int64
	for i := range res.Events {
		if res.Events[i].Type != "grant" {
			continue
		}
		if o := attr(res.Events, i, "outcome"); o != "accepted" {
			return nil, fmt.Errorf("charge %s: %s", attr(res.Events, i, "charge_ref"), attr(res.Events, i, "log"))
		}
		y, err := strconv.ParseInt(attr(res.Events, i, "granted_yen"), 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	return out, nil
}

func attr(evs []abci.Event, i int, key string) string {
	if i >= len(evs) {
		return ""
	}
	for _, a := range evs[i].Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}
