package proof

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	"github.com/pokt-network/smt"
	"github.com/pokt-network/smt/kvstore/simplemap"
)

// refState is a set of records in pokt-network/smt's own sparse Merkle sum
// trie. app/store computes exactly its roots and proofs (TestTrieMatchesSMT
// there), so its proofs stand for the store's here, without Badger.
type refState struct {
	t     *testing.T
	trie  *smt.SMST
	value map[string][]byte
	wt    map[string]uint64
}

func newRefState(t *testing.T) *refState {
	return &refState{t: t, trie: smt.NewSparseMerkleSumTrie(simplemap.NewSimpleMap(), sha256.New()),
		value: map[string][]byte{}, wt: map[string]uint64{}}
}

func (r *refState) set(key, value []byte, weight uint64) {
	if err := r.trie.Update(key, LeafValue(value), weight); err != nil {
		r.t.Fatal(err)
	}
	r.value[string(key)], r.wt[string(key)] = value, weight
}

func (r *refState) root() []byte { return r.trie.Root() }

// prove is what app/store's Prove answers for key.
func (r *refState) prove(key []byte) *cmtcrypto.ProofOps {
	r.t.Helper()
	p, err := r.trie.Prove(key)
	if err != nil {
		r.t.Fatal(err)
	}
	cp, err := smt.CompactProof(p, TrieSpec())
	if err != nil {
		r.t.Fatal(err)
	}
	_, exists := r.value[string(key)]
	op := &ProofOp{Key: bytes.Clone(key), Root: r.root(), Weight: r.wt[string(key)], Exists: exists, Proof: cp}
	return &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{op.ProofOp()}}
}

func cloneOps(ops *cmtcrypto.ProofOps) *cmtcrypto.ProofOps {
	out := &cmtcrypto.ProofOps{}
	for _, op := range ops.Ops {
		out.Ops = append(out.Ops, cmtcrypto.ProofOp{Type: op.Type, Key: bytes.Clone(op.Key), Data: bytes.Clone(op.Data)})
	}
	return out
}

func testKey(i int) []byte { return []byte(fmt.Sprintf("acct/%08d", i)) }

// Malformed proof data must be rejected with an error, never a panic, and
// the encoding must round-trip.
func TestProofDecoding(t *testing.T) {
	r := newRefState(t)
	rng := rand.New(rand.NewPCG(11, 11^0x9e3779b97f4a7c15))
	for j := 0; j < 200; j++ {
		i := rng.IntN(300)
		v := make([]byte, rng.IntN(40))
		for k := range v {
			v[k] = byte(rng.IntN(256))
		}
		r.set(testKey(i), v, uint64(rng.IntN(3))*uint64(rng.IntN(100000)))
	}
	root := r.root()
	var cases []*cmtcrypto.ProofOps
	present := 0
	for i := 0; i < 300; i += 7 {
		if _, ok := r.value[string(testKey(i))]; ok {
			present++
		}
		cases = append(cases, r.prove(testKey(i)))
	}
	if present == 0 || present == len(cases) {
		t.Fatalf("%d of %d keys present: want both kinds of proof", present, len(cases))
	}
	for _, ops := range cases {
		op, err := Decode(ops.Ops[0])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(op.Encode(), ops.Ops[0].Data) {
			t.Fatal("encoding does not round-trip")
		}
		key := ops.Ops[0].Key
		verify := func(o *cmtcrypto.ProofOps) error {
			if op.Exists {
				return VerifyValue(root, key, r.value[string(key)], o)
			}
			return VerifyAbsence(root, key, o)
		}
		if err := verify(ops); err != nil {
			t.Fatal(err)
		}
		data := ops.Ops[0].Data
		// Every truncation and every single-byte change fails.
		for n := 0; n < len(data); n++ {
			bad := cloneOps(ops)
			bad.Ops[0].Data = bad.Ops[0].Data[:n]
			if verify(bad) == nil {
				t.Fatalf("truncated to %d bytes verified", n)
			}
		}
		for i := range data {
			for _, x := range []byte{1, 0x80, 0xff} {
				bad := cloneOps(ops)
				bad.Ops[0].Data[i] ^= x
				if verify(bad) == nil {
					t.Fatalf("byte %d ^ %x verified", i, x)
				}
			}
		}
		bad := cloneOps(ops)
		bad.Ops[0].Data = append(bad.Ops[0].Data, 0)
		if verify(bad) == nil {
			t.Fatal("trailing byte verified")
		}
	}
	if _, err := DecodeProofOp(cmtcrypto.ProofOp{Type: ProofOpType, Key: []byte("k"), Data: []byte{1, 1}}); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("short data: %v", err)
	}
}

// The root's trailers are the trie's sum and count.
func TestRootSumCount(t *testing.T) {
	r := newRefState(t)
	if n, err := RootCount(r.root()); err != nil || n != 0 {
		t.Fatalf("empty root: count %d, %v", n, err)
	}
	r.set([]byte("a"), []byte("x"), 5)
	r.set([]byte("b"), nil, 0)
	r.set([]byte("c"), []byte("y"), 7)
	if s, err := RootSum(r.root()); err != nil || s != 12 {
		t.Fatalf("sum %d, %v; want 12", s, err)
	}
	if n, err := RootCount(r.root()); err != nil || n != 3 {
		t.Fatalf("count %d, %v; want 3", n, err)
	}
	if _, err := RootSum(r.root()[:RootSize-1]); err == nil {
		t.Fatal("short root accepted")
	}
	// An empty value is provable (LeafValue's prefix).
	if ok, w, err := VerifyProof(r.root(), []byte("b"), nil, r.prove([]byte("b"))); err != nil || !ok || w != 0 {
		t.Fatalf("empty value: %v %d %v", ok, w, err)
	}
	if ok, w, err := VerifyProof(r.root(), []byte("c"), []byte("y"), r.prove([]byte("c"))); err != nil || !ok || w != 7 {
		t.Fatalf("weighted value: %v %d %v", ok, w, err)
	}
}
