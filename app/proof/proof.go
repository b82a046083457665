package proof

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	"github.com/cometbft/cometbft/crypto/merkle"
	"github.com/pokt-network/smt"
)

// ProofOpType is the CometBFT proof operation type of SMST record proofs.
const ProofOpType = "mykey:smst"

const (
	proofVersion    = 1
	kindAbsence     = 0
	kindMembership  = 1
	maxSideNodes    = DigestSize * 8
	proofHeaderSize = 2 + RootSize + 8
)

// ProofOp is a membership or absence proof of one record in the SMST,
// usable as a merkle.ProofOperator (see the package documentation for the
// encoding of its data). app/store makes them (View.Prove).
type ProofOp struct {
	Key    []byte // record key
	Root   []byte // root the proof was made against
	Weight uint64 // proven leaf weight (0 for absence)
	Exists bool   // membership (true) or absence (false)
	Proof  *smt.SparseCompactMerkleProof
}

var _ merkle.ProofOperator = (*ProofOp)(nil)

// GetKey returns the record key.
func (op *ProofOp) GetKey() []byte { return op.Key }

// ProofOp encodes the operator.
func (op *ProofOp) ProofOp() cmtcrypto.ProofOp {
	return cmtcrypto.ProofOp{Type: ProofOpType, Key: bytes.Clone(op.Key), Data: op.Encode()}
}

// Run verifies the proof against op.Root and returns [op.Root]. args is
// [value] for a membership proof and empty for an absence proof.
func (op *ProofOp) Run(args [][]byte) (out [][]byte, err error) {
	defer func() {
		// smt panics on some malformed input; a proof must never crash
		// the verifier.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: malformed proof: %v", ErrInvalidProof, r)
		}
	}()
	if len(op.Root) != RootSize || op.Proof == nil || len(op.Key) == 0 {
		return nil, fmt.Errorf("%w: incomplete proof", ErrInvalidProof)
	}
	spec := TrieSpec()
	var ok bool
	if op.Exists {
		if len(args) != 1 {
			return nil, fmt.Errorf("%w: membership proof needs exactly one value, got %d", ErrInvalidProof, len(args))
		}
		ok, err = smt.VerifyCompactSumProof(op.Proof, op.Root, op.Key, LeafValue(args[0]), op.Weight, 1, spec)
	} else {
		if len(args) != 0 {
			return nil, fmt.Errorf("%w: absence proof takes no value, got %d", ErrInvalidProof, len(args))
		}
		if op.Weight != 0 {
			return nil, fmt.Errorf("%w: absence proof with weight %d", ErrInvalidProof, op.Weight)
		}
		ok, err = smt.VerifyCompactSumProof(op.Proof, op.Root, op.Key, nil, 0, 0, spec)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: key %q does not verify against root %x", ErrInvalidProof, op.Key, op.Root)
	}
	return [][]byte{bytes.Clone(op.Root)}, nil
}

// Encode is the canonical encoding of the operator's data (Decode's
// inverse).
func (op *ProofOp) Encode() []byte {
	p := op.Proof
	b := make([]byte, 0, proofHeaderSize+2*binary.MaxVarintLen64+len(p.BitMask)+len(p.SideNodes)*RootSize+len(p.NonMembershipLeafData))
	b = append(b, proofVersion)
	if op.Exists {
		b = append(b, kindMembership)
	} else {
		b = append(b, kindAbsence)
	}
	b = append(b, op.Root...)
	b = binary.BigEndian.AppendUint64(b, op.Weight)
	b = binary.AppendUvarint(b, uint64(p.NumSideNodes))
	b = append(b, p.BitMask...)
	for _, n := range p.SideNodes {
		b = append(b, n...)
	}
	b = binary.AppendUvarint(b, uint64(len(p.NonMembershipLeafData)))
	return append(b, p.NonMembershipLeafData...)
}

// DecodeProofOp is the merkle.OpDecoder for ProofOpType. It accepts only
// the canonical encoding.
func DecodeProofOp(pop cmtcrypto.ProofOp) (merkle.ProofOperator, error) {
	op, err := Decode(pop)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	return op, nil
}

// Decode decodes a proof operation of ProofOpType, accepting only the
// canonical encoding, without verifying it.
func Decode(pop cmtcrypto.ProofOp) (*ProofOp, error) {
	if pop.Type != ProofOpType {
		return nil, fmt.Errorf("proof type %q, want %q", pop.Type, ProofOpType)
	}
	if err := CheckKey(pop.Key); err != nil {
		return nil, err
	}
	d := pop.Data
	if len(d) < proofHeaderSize || d[0] != proofVersion || (d[1] != kindAbsence && d[1] != kindMembership) {
		return nil, errors.New("bad proof header")
	}
	op := &ProofOp{
		Key:    bytes.Clone(pop.Key),
		Exists: d[1] == kindMembership,
		Root:   bytes.Clone(d[2 : 2+RootSize]),
		Weight: binary.BigEndian.Uint64(d[2+RootSize:]),
	}
	d = d[proofHeaderSize:]
	n, k := binary.Uvarint(d)
	if k <= 0 || n > maxSideNodes {
		return nil, errors.New("bad side node count")
	}
	d = d[k:]
	maskLen := (int(n) + 7) / 8
	if len(d) < maskLen {
		return nil, errors.New("truncated bit mask")
	}
	mask := bytes.Clone(d[:maskLen])
	d = d[maskLen:]
	placeholders := 0
	for i := 0; i < maskLen; i++ {
		placeholders += bits.OnesCount8(mask[i])
	}
	// Bits past n must be zero (canonical encoding); smt's bit order is
	// most significant bit first.
	if rem := int(n) % 8; rem != 0 && mask[maskLen-1]&(0xff>>rem) != 0 {
		return nil, errors.New("bit mask padding not zero")
	}
	nReal := int(n) - placeholders
	if len(d) < nReal*RootSize {
		return nil, errors.New("truncated side nodes")
	}
	var sides [][]byte
	for i := 0; i < nReal; i++ {
		sides = append(sides, bytes.Clone(d[i*RootSize:(i+1)*RootSize]))
	}
	d = d[nReal*RootSize:]
	l, k := binary.Uvarint(d)
	if k <= 0 || (l != 0 && l != LeafDataSize) || uint64(len(d)-k) != l {
		return nil, errors.New("bad non-membership leaf data")
	}
	var leaf []byte
	if l > 0 {
		leaf = bytes.Clone(d[k:])
		if leaf[0] != 0 { // smt's leaf prefix; anything else makes smt panic
			return nil, errors.New("non-membership data is not a leaf")
		}
		if op.Exists {
			return nil, errors.New("membership proof with non-membership data")
		}
	}
	if !op.Exists && op.Weight != 0 {
		return nil, errors.New("absence proof with a weight")
	}
	op.Proof = &smt.SparseCompactMerkleProof{
		SideNodes:             sides,
		NonMembershipLeafData: leaf,
		BitMask:               mask,
		NumSideNodes:          int(n),
	}
	return op, nil
}

// ProofRuntime returns a CometBFT proof runtime that decodes ProofOpType.
func ProofRuntime() *merkle.ProofRuntime {
	prt := merkle.NewProofRuntime()
	prt.RegisterOpDecoder(ProofOpType, DecodeProofOp)
	return prt
}

// KeyPath returns the key path VerifyValue and VerifyAbsence use for key:
// one hex-encoded key, "/x:<HEX>".
func KeyPath(key []byte) string {
	return merkle.KeyPath{}.AppendKey(key, merkle.KeyEncodingHex).String()
}

// VerifyValue checks that ops proves key = value under root (an app hash).
func VerifyValue(root []byte, key, value []byte, ops *cmtcrypto.ProofOps) error {
	if err := checkOps(key, ops); err != nil {
		return err
	}
	if err := ProofRuntime().VerifyValue(ops, root, KeyPath(key), value); err != nil {
		return fmt.Errorf("proof: verify %q: %w", key, err)
	}
	return nil
}

// VerifyValueWeight is VerifyValue that also checks the record's weight.
func VerifyValueWeight(root []byte, key, value []byte, weight uint64, ops *cmtcrypto.ProofOps) error {
	if err := VerifyValue(root, key, value, ops); err != nil {
		return err
	}
	got, err := ProofWeight(ops)
	if err != nil {
		return err
	}
	if got != weight {
		return fmt.Errorf("%w: weight of %q is %d, want %d", ErrInvalidProof, key, got, weight)
	}
	return nil
}

// VerifyAbsence checks that ops proves key absent under root.
func VerifyAbsence(root []byte, key []byte, ops *cmtcrypto.ProofOps) error {
	if err := checkOps(key, ops); err != nil {
		return err
	}
	if err := ProofRuntime().VerifyAbsence(ops, root, KeyPath(key)); err != nil {
		return fmt.Errorf("proof: verify absence of %q: %w", key, err)
	}
	return nil
}

// VerifyProof checks a proof from app/store's Prove whichever kind it is: a
// membership proof of key = value (nil and empty values are the same, as
// they are after a protobuf round trip) or, when the proof is an absence
// proof, that key is absent (value must then be empty). It returns whether
// the record exists and its proven weight.
func VerifyProof(root []byte, key, value []byte, ops *cmtcrypto.ProofOps) (exists bool, weight uint64, err error) {
	if err := checkOps(key, ops); err != nil {
		return false, 0, err
	}
	op, err := Decode(ops.Ops[0])
	if err != nil {
		return false, 0, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if !op.Exists {
		if len(value) != 0 {
			return false, 0, fmt.Errorf("%w: absence proof for %q with a value", ErrInvalidProof, key)
		}
		return false, 0, VerifyAbsence(root, key, ops)
	}
	if value == nil {
		value = []byte{}
	}
	if err := VerifyValue(root, key, value, ops); err != nil {
		return false, 0, err
	}
	return true, op.Weight, nil
}

// ProofWeight returns the weight a record proof carries. It is only proven
// once VerifyValue has succeeded on the same ops.
func ProofWeight(ops *cmtcrypto.ProofOps) (uint64, error) {
	if ops == nil || len(ops.Ops) != 1 {
		return 0, fmt.Errorf("%w: want exactly one proof op", ErrInvalidProof)
	}
	op, err := Decode(ops.Ops[0])
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	return op.Weight, nil
}

func checkOps(key []byte, ops *cmtcrypto.ProofOps) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if ops == nil || len(ops.Ops) != 1 {
		return fmt.Errorf("%w: want exactly one proof op", ErrInvalidProof)
	}
	return nil
}
