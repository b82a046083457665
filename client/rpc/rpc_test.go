package rpc_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/rpctest"
)

// govTx is a signed government action registering a provider.
func govTx(t *testing.T, n *rpctest.Node, id string, seq uint64) []byte {
	t.Helper()
	k, err := keyfile.Load(n.GovKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	pub := make([]byte, ed25519.PublicKeySize)
	pub[0] = byte(len(id))
	a := &types.GovAction{ChainId: rpctest.ChainID, Sequence: seq, Action: &types.GovAction_RegisterProvider{
		RegisterProvider: &types.RegisterProvider{Provider: &types.Provider{Id: id, Name: id, GrantKey: pub}}}}
	tx, err := types.EncodeTx(types.WrapGov(&types.SignedGov{Action: a,
		Signatures: []*types.GovSignature{{PublicKey: k.Public(), Signature: k.Sign(a.SignBytes())}}}))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestSubmitStages(t *testing.T) {
	ctx := context.Background()
	n := rpctest.New(t, rpctest.Options{})
	opts := rpc.SubmitOptions{Timeout: 5 * time.Second, Poll: 10 * time.Millisecond}

	tx := govTx(t, n, "newpay", 1)
	r, err := rpc.Submit(ctx, n, tx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stage != rpc.StageBlock || r.Code != 0 || r.Height < 2 || r.Resent || len(rpc.Items(r.Events)) != 1 {
		t.Fatalf("accepted: %+v", r)
	}
	it := rpc.Items(r.Events)[0]
	if it.Type != "gov" || !it.Accepted() || it.Get("action") != "register_provider" || it.Int("sequence") != 1 {
		t.Fatalf("item: %+v", it)
	}

	// The same bytes again: the node has them; the result is the block's.
	again, err := rpc.Submit(ctx, n, tx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Resent || again.Height != r.Height || again.Stage != rpc.StageBlock {
		t.Fatalf("resent: %+v", again)
	}

	// Refused by CheckTx: at once, with the code and CheckTx's events.
	bad, err := rpc.Submit(ctx, n, govTx(t, n, "other", 9), opts)
	if err != nil {
		t.Fatal(err)
	}
	if bad.Stage != rpc.StageCheck || bad.Code != types.ErrBadSequence.Code || bad.Height != 0 || len(bad.Events) == 0 {
		t.Fatalf("refused: %+v", bad)
	}

	// No block in time: a TimeoutError that says what to do.
	n.Hold(true)
	_, err = rpc.Submit(ctx, n, govTx(t, n, "late", 2), rpc.SubmitOptions{Timeout: 200 * time.Millisecond, Poll: 10 * time.Millisecond})
	var te *rpc.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "mykey query tx") {
		t.Fatalf("timeout: %v", err)
	}
	// Cancelled by the caller: not a timeout.
	cctx, cancel := context.WithCancel(ctx)
	p, err := rpc.Send(cctx, n, govTx(t, n, "later", 2), opts)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := p.Wait(cctx); err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "may still be committed") {
		t.Fatalf("cancelled: %v", err)
	}
}

// tampered changes every answer's value.
type tampered struct{ *rpctest.Node }

func (t tampered) Query(ctx context.Context, path string, prove bool) (*abci.QueryResponse, error) {
	r, err := t.Node.Query(ctx, path, prove)
	if err == nil && r.Value != nil {
		r.Value = append([]byte(nil), r.Value...)
		r.Value[len(r.Value)-1] ^= 1
	}
	return r, err
}

func TestGetVerify(t *testing.T) {
	ctx := context.Background()
	n := rpctest.New(t, rpctest.Options{})
	var p types.Provider
	a, err := rpc.Get(ctx, n, rpc.KeyProvider("paypay"), &p, true)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || !a.Verified || p.Id != "paypay" {
		t.Fatalf("answer %+v, provider %+v", a, p)
	}
	// Absence is proved too.
	a, err = rpc.Get(ctx, n, rpc.KeyProvider("nopay"), &p, true)
	if err != nil || a.Found || !a.Verified {
		t.Fatalf("absent: %+v %v", a, err)
	}
	// A node that lies is caught.
	if _, err := rpc.Get(ctx, tampered{n}, rpc.KeyProvider("paypay"), &p, true); err == nil || !strings.Contains(err.Error(), "do not trust") {
		t.Fatalf("tampered answer: %v", err)
	}
	// Store keys name the records the app stores.
	for _, key := range []string{rpc.KeyGov(), rpc.KeyProgram(rpctest.Program), rpc.KeyProgramTotals(rpctest.Program)} {
		res, err := n.Query(ctx, "/"+key, false)
		if err != nil || res.Value == nil {
			t.Errorf("%s: not found (%v)", key, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	n, err := rpc.Dial("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Status(context.Background())
	var ue *rpc.UnreachableError
	if !errors.As(err, &ue) || ue.URL != "http://127.0.0.1:1" || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "--node") {
		t.Fatalf("error: %v", err)
	}
	for in, want := range map[string]string{"127.0.0.1:26657": "http://127.0.0.1:26657", "tcp://h:1": "http://h:1",
		"https://h:1/": "https://h:1"} {
		if got := rpc.NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
}
