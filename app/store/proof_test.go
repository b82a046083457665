package store

import (
	"bytes"
	"encoding/binary"
	"testing"

	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	"github.com/mykeyledger/mykey/app/proof"
)

func mustProve(t *testing.T, s *Store, key []byte) ([]byte, uint64, *cmtcrypto.ProofOps) {
	t.Helper()
	v, w, ops, err := s.Prove(key)
	if err != nil {
		t.Fatalf("prove %q: %v", key, err)
	}
	if ops == nil || len(ops.Ops) != 1 || ops.Ops[0].Type != proof.ProofOpType || !bytes.Equal(ops.Ops[0].Key, key) {
		t.Fatalf("prove %q: bad ops %+v", key, ops)
	}
	return v, w, ops
}

func cloneOps(ops *cmtcrypto.ProofOps) *cmtcrypto.ProofOps {
	out := &cmtcrypto.ProofOps{}
	for _, op := range ops.Ops {
		out.Ops = append(out.Ops, cmtcrypto.ProofOp{Type: op.Type, Key: bytes.Clone(op.Key), Data: bytes.Clone(op.Data)})
	}
	return out
}

func TestProofs(t *testing.T) {
	s := openMem(t)
	m := commitAll(t, s, genBlocks(10, 3, 400, 500))
	grant := []byte("grant/1")
	commitBlock(t, s, block{
		{key: grant, value: []byte("ten thousand yen"), weight: 10000},
		{key: []byte("empty"), value: nil, weight: 0},
	}, 4)
	root := s.AppHash()

	// Membership, via the runtime directly and via the helpers.
	v, w, ops := mustProve(t, s, grant)
	if string(v) != "ten thousand yen" || w != 10000 {
		t.Fatalf("prove returned %q/%d", v, w)
	}
	if err := proof.ProofRuntime().VerifyValue(ops, root, proof.KeyPath(grant), v); err != nil {
		t.Fatalf("runtime verify: %v", err)
	}
	if err := proof.VerifyValue(root, grant, v, ops); err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyValueWeight(root, grant, v, 10000, ops); err != nil {
		t.Fatal(err)
	}
	if pw, err := proof.ProofWeight(ops); err != nil || pw != 10000 {
		t.Fatalf("weight %d %v", pw, err)
	}

	// Every committed record proves, including an empty value.
	for k, c := range m {
		v, w, ops := mustProve(t, s, []byte(k))
		if !bytes.Equal(v, c.value) || w != c.weight {
			t.Fatalf("%q: got %x/%d", k, v, w)
		}
		if err := proof.VerifyValueWeight(root, []byte(k), v, w, ops); err != nil {
			t.Fatalf("%q: %v", k, err)
		}
	}
	ev, _, eops := mustProve(t, s, []byte("empty"))
	if ev == nil || len(ev) != 0 {
		t.Fatalf("empty value proved as %v", ev)
	}
	if err := proof.VerifyValue(root, []byte("empty"), []byte{}, eops); err != nil {
		t.Fatalf("empty value: %v", err)
	}
	if err := proof.VerifyAbsence(root, []byte("empty"), eops); err == nil {
		t.Fatal("empty value proved absent")
	}

	// proof.VerifyProof handles both kinds; an empty value survives a nil round
	// trip.
	if ok, w, err := proof.VerifyProof(root, []byte("empty"), nil, eops); err != nil || !ok || w != 0 {
		t.Fatalf("proof.VerifyProof empty value: %v %v %d", ok, err, w)
	}
	if ok, w, err := proof.VerifyProof(root, grant, v, ops); err != nil || !ok || w != 10000 {
		t.Fatalf("proof.VerifyProof: %v %v %d", ok, err, w)
	}
	if _, _, err := proof.VerifyProof(root, grant, []byte("other"), ops); err == nil {
		t.Fatal("proof.VerifyProof accepted a tampered value")
	}
	if _, _, err := proof.VerifyProof(root, grant, nil, ops); err == nil {
		t.Fatal("proof.VerifyProof accepted a missing value for a membership proof")
	}

	// Failures.
	fails := map[string]func() error{
		"tampered value": func() error { return proof.VerifyValue(root, grant, []byte("ten thousand yen!"), ops) },
		"empty value":    func() error { return proof.VerifyValue(root, grant, []byte{}, ops) },
		"wrong weight": func() error {
			return proof.VerifyValueWeight(root, grant, v, 9999, ops)
		},
		"tampered weight in op": func() error {
			bad := cloneOps(ops)
			binary.BigEndian.PutUint64(bad.Ops[0].Data[2+RootSize:], 20000)
			return proof.VerifyValue(root, grant, v, bad)
		},
		"wrong key (key path)": func() error { return proof.VerifyValue(root, []byte("grant/2"), v, ops) },
		"wrong key (op key)": func() error {
			bad := cloneOps(ops)
			bad.Ops[0].Key = []byte("grant/2")
			return proof.VerifyValue(root, []byte("grant/2"), v, bad)
		},
		"wrong app hash": func() error {
			r := bytes.Clone(root)
			r[3] ^= 1
			return proof.VerifyValue(r, grant, v, ops)
		},
		"wrong sum in app hash": func() error {
			r := bytes.Clone(root)
			r[digestSize+7] ^= 1
			return proof.VerifyValue(r, grant, v, ops)
		},
		"tampered root in op": func() error {
			bad := cloneOps(ops)
			bad.Ops[0].Data[2] ^= 1
			return proof.VerifyValue(root, grant, v, bad)
		},
		"absence with a membership proof": func() error { return proof.VerifyAbsence(root, grant, ops) },
		"no ops":                          func() error { return proof.VerifyValue(root, grant, v, &cmtcrypto.ProofOps{}) },
		"nil ops":                         func() error { return proof.VerifyAbsence(root, grant, nil) },
		"wrong type": func() error {
			bad := cloneOps(ops)
			bad.Ops[0].Type = "iavl:v"
			return proof.VerifyValue(root, grant, v, bad)
		},
	}
	for name, f := range fails {
		if err := f(); err == nil {
			t.Errorf("%s: verified", name)
		}
	}

	// Absence of a missing key.
	missing := []byte("grant/404")
	mv, mw, mops := mustProve(t, s, missing)
	if mv != nil || mw != 0 {
		t.Fatalf("missing key: %q %d", mv, mw)
	}
	if err := proof.VerifyAbsence(root, missing, mops); err != nil {
		t.Fatalf("absence: %v", err)
	}
	if err := proof.ProofRuntime().VerifyAbsence(mops, root, proof.KeyPath(missing)); err != nil {
		t.Fatalf("runtime absence: %v", err)
	}
	if err := proof.VerifyValue(root, missing, []byte{}, mops); err == nil {
		t.Fatal("absence proof proved an empty value")
	}
	if err := proof.VerifyAbsence(root, grant, mops); err == nil {
		t.Fatal("absence proof of one key worked for another")
	}
	if ok, _, err := proof.VerifyProof(root, missing, nil, mops); err != nil || ok {
		t.Fatalf("proof.VerifyProof absence: %v %v", ok, err)
	}
	if _, _, err := proof.VerifyProof(root, missing, []byte("x"), mops); err == nil {
		t.Fatal("proof.VerifyProof: absence proof with a value")
	}

	// Another height's root: the proofs above fail once the state moves on,
	// and proofs of the new state fail against the old root.
	commitBlock(t, s, block{{key: []byte("other"), value: []byte("x"), weight: 1}}, 5)
	root5 := s.AppHash()
	if err := proof.VerifyValue(root5, grant, v, ops); err == nil {
		t.Fatal("old proof verified against a newer root")
	}
	_, _, ops5 := mustProve(t, s, grant)
	if err := proof.VerifyValue(root5, grant, v, ops5); err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyValue(root, grant, v, ops5); err == nil {
		t.Fatal("new proof verified against an older root")
	}
	// The missing key became present: its old absence proof fails now.
	commitBlock(t, s, block{{key: missing, value: []byte("now here")}}, 6)
	if err := proof.VerifyAbsence(s.AppHash(), missing, mops); err == nil {
		t.Fatal("stale absence proof verified")
	}
	_, _, nops := mustProve(t, s, missing)
	if err := proof.VerifyAbsence(s.AppHash(), missing, nops); err == nil {
		t.Fatal("absence verified for a present key")
	}
}

func TestProofEdgeCases(t *testing.T) {
	s := openMem(t)
	// Empty trie: absence proof against the empty root.
	_, _, ops := mustProve(t, s, []byte("k"))
	if err := proof.VerifyAbsence(s.AppHash(), []byte("k"), ops); err != nil {
		t.Fatalf("empty trie absence: %v", err)
	}
	if err := proof.VerifyValue(s.AppHash(), []byte("k"), []byte("v"), ops); err == nil {
		t.Fatal("empty trie membership")
	}
	// Single leaf: membership of it, absence of anything else (the proof
	// then carries the leaf as non-membership data).
	commitBlock(t, s, block{{key: []byte("k"), value: []byte("v"), weight: 3}}, 1)
	root := s.AppHash()
	_, _, ops = mustProve(t, s, []byte("k"))
	if err := proof.VerifyValueWeight(root, []byte("k"), []byte("v"), 3, ops); err != nil {
		t.Fatalf("single leaf: %v", err)
	}
	_, _, aops := mustProve(t, s, []byte("other"))
	if err := proof.VerifyAbsence(root, []byte("other"), aops); err != nil {
		t.Fatalf("single leaf absence: %v", err)
	}
	if err := proof.VerifyAbsence(root, []byte("k"), ops); err == nil {
		t.Fatal("single leaf proved absent")
	}
	// Two leaves.
	commitBlock(t, s, block{{key: []byte("k2"), value: []byte("v2"), weight: 4}}, 2)
	_, _, ops = mustProve(t, s, []byte("k"))
	if err := proof.VerifyValueWeight(s.AppHash(), []byte("k"), []byte("v"), 3, ops); err != nil {
		t.Fatalf("two leaves: %v", err)
	}
	if _, _, _, err := s.Prove(nil); err == nil {
		t.Fatal("proof of an empty key")
	}
}
