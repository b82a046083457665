// Package proof verifies MyKey Ledger's state proofs: a record's
// membership or absence in the sparse Merkle sum trie whose root is the
// app hash (pokt-network/smt's SMST with sha256). It needs only the trie's
// hashing and CometBFT's crypto/merkle, so a client verifies proofs
// without linking the state machine or its database; app/store makes the
// proofs.
//
// # Root format
//
// A root is a 32-byte sha256 digest followed by the 8-byte big-endian sum
// of all weights and the 8-byte big-endian count of records (RootSize, 48
// bytes); RootSum and RootCount decode the two trailers. The trie leaf of
// a record is keyed by the record key and holds LeafValue(value), 0x00 ||
// value, with the record's weight.
//
// # Encoding
//
// app/store's Prove returns a CometBFT ProofOps holding one operation of type
// ProofOpType ("mykey:smst"). Its Key is the record key. Its Data is, in
// order (integers big-endian, "uvarint" is encoding/binary's Uvarint):
//
//	byte     version (1)
//	byte     kind: 1 = membership, 0 = absence
//	[48]byte root the proof was made against
//	uint64   leaf weight (0 for absence)
//	uvarint  number of side nodes n (<= 256)
//	[ceil(n/8)]byte bit mask: bit i set = side node i is the empty placeholder
//	[k][48]byte the other side nodes, k = n - popcount(mask)
//	uvarint  length of the non-membership leaf data (0 or 81), then the data
//
// i.e. smt's SparseCompactMerkleProof (without SiblingData) plus the weight,
// in a strict, portable encoding instead of gob. The operator's Run takes
// [value] (membership) or nothing (absence), checks the proof with
// smt.VerifyCompactSumProof against the embedded root (value 0x00||value,
// sum = weight, count = 1; or the absence form) and returns [root];
// merkle.ProofOperators.Verify then compares that root with the trusted app
// hash. A wrong root, tampered value, weight or key therefore fails.
//
// VerifyValue and VerifyAbsence build the key path with hex key encoding:
// merkle.KeyPath{}.AppendKey(key, merkle.KeyEncodingHex), i.e. "/x:<HEX>".
// VerifyValueWeight additionally checks the proven weight, and VerifyProof
// accepts either kind (the proof says which), for clients that cannot tell
// an empty value from an absent one after a protobuf round trip.
//
// Keys are 1..MaxKeySize bytes (CheckKey).
package proof
