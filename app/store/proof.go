package store

import (
	"bytes"
	"fmt"

	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	"github.com/pokt-network/smt"

	"github.com/mykeyledger/mykey/app/proof"
)

// Prove returns the committed value and weight of key with a proof against
// the committed root (AppHash). value is nil if key is absent, and the
// proof is then an absence proof.
func (s *Store) Prove(key []byte) (value []byte, weight uint64, ops *cmtcrypto.ProofOps, err error) {
	err = s.View(func(v *View) error {
		value, weight, ops, err = v.Prove(key)
		return err
	})
	return value, weight, ops, err
}

// Prove is Store.Prove at the view's block: the proof is against
// v.AppHash().
func (v *View) Prove(key []byte) (value []byte, weight uint64, ops *cmtcrypto.ProofOps, err error) {
	if err := checkKey(key); err != nil {
		return nil, 0, nil, err
	}
	value, weight, err = v.getRecord(key)
	if err != nil {
		return nil, 0, nil, err
	}
	root := v.AppHash()
	p, err := v.proof(key)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("store: prove %q: %w", key, err)
	}
	cp, err := smt.CompactProof(p, proof.TrieSpec())
	if err != nil {
		return nil, 0, nil, fmt.Errorf("store: compact proof %q: %w", key, err)
	}
	op := &proof.ProofOp{Key: bytes.Clone(key), Root: root, Weight: weight, Exists: value != nil, Proof: cp}
	// The records and the trie are written together; check they agree.
	var args [][]byte
	if value != nil {
		args = [][]byte{value}
	}
	if _, err := op.Run(args); err != nil {
		return nil, 0, nil, fmt.Errorf("store: record %q disagrees with the trie: %w", key, err)
	}
	return value, weight, &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{op.ProofOp()}}, nil
}

// proof builds smt's proof of key against the view's trie: the side nodes
// from the bottom up and, when the path ends in another record's leaf,
// that leaf.
func (v *View) proof(key []byte) (*smt.SparseMerkleProof, error) {
	if v.done {
		return nil, errViewDone
	}
	c := &trieCtx{txn: v.sn.txn, cache: v.s.cache, bucket: v.s.bucket}
	sc := c.newScanner()
	defer sc.close()
	path := sha256Path(string(key))
	sides, end, err := sc.prove(v.sn.trie, &path)
	if err != nil {
		return nil, err
	}
	p := &smt.SparseMerkleProof{SideNodes: make([][]byte, len(sides))}
	for i := range sides {
		p.SideNodes[len(sides)-1-i] = sides[i][:]
	}
	if end != nil && end.path != path {
		p.NonMembershipLeafData = end.encodeNode()
	}
	return p, nil
}
