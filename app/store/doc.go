// Package store is MyKey Ledger's application state: a key/value store of
// records kept in Badger v4, plus a sparse Merkle sum trie (pokt-network/smt
// SMST with sha256) over the same records. The trie root is the CometBFT
// app hash, so it commits to every record and, through the sum trie, to the
// total weight of all records (the app uses weight = yen granted for grant
// records and 0 for everything else) and to the number of records.
//
// # Root format
//
// AppHash and Stage.Root return the SMST root: a 32-byte sha256 digest
// followed by the 8-byte big-endian sum of all weights and the 8-byte
// big-endian count of records (48 bytes). The empty store has the SMST's
// empty root, 48 zero bytes. RootSum and RootCount decode the two trailers.
//
// The trie leaf for a record is keyed by the record key (the SMST hashes it
// into the 256-bit path) and holds the value 0x00 || value with the record's
// weight. The 0x00 prefix exists because smt treats an empty value with a
// zero weight as "absent" during proof verification; with the prefix an
// empty record value is provable like any other.
//
// # Badger layout
//
//	r/<key>                  8-byte big-endian weight || value   (records)
//	n/<digest>               encoded SMST node, keyed by its 48-byte digest
//	m/height                 8-byte big-endian last committed height
//	m/root                   48-byte last committed root
//	w/<height:8>/c<idx:4>    redo log chunk (part of one block's changeset)
//	w/<height:8>/m           redo log marker: chunk count, height, root
//
// # Blocks, commits and the redo log
//
// Store.Stage returns a working set for one block over the committed state.
// Stage.Set/Delete buffer records in memory; Stage.Root applies the keys
// changed since the previous Root call to the stage's own trie in sorted key
// order (so the root depends only on the resulting set of records, never on
// call order) and returns the new root. The stage trie reads nodes through an
// in-memory overlay backed by Badger; node writes and orphan deletions made
// by the SMST's Commit land in that overlay only.
//
// Store.Commit turns a stage into a changeset (record puts/deletes and node
// puts/deletes, each key in sorted order) and makes it durable atomically
// with the new height and root:
//
//  1. The changeset is encoded into chunks (RedoChunkSize each, default
//     4 MiB) stored under w/<height>/c<i>. Chunks are large values, so they
//     go to Badger's value log and cost only about 40 bytes each against
//     Badger's transaction size limit (about 15 % of the memtable size).
//     Commit first tries to put all chunks, the marker w/<height>/m,
//     m/height and m/root into ONE transaction. If that transaction would be
//     too big (ErrTxnTooBig; nothing has been written then) the chunks are
//     written in as many transactions as needed and the marker, m/height and
//     m/root follow in one final, small transaction. Either way the
//     transaction that writes m/height and m/root is the commit point, and it
//     always contains the marker; chunks without a marker are garbage from an
//     interrupted commit and are deleted by Open.
//  2. The changeset is applied to the r/ and n/ keys with a Badger
//     WriteBatch (any number of transactions).
//  3. The redo entry is deleted (the marker first, in the first
//     transaction).
//
// Badger runs with SyncWrites for on-disk stores, so every step is on disk
// before the next starts and the block is durable when Commit returns. Open
// replays every redo entry whose marker is present (the changeset holds final
// values, so replaying it is idempotent) and deletes it. After a crash at any
// point Open therefore finds either the previous block (no marker) or the new
// one (marker present; replayed), never a mix. In-memory stores
// (Options.InMemory, for tests) skip the redo log: they cannot survive a
// crash anyway.
//
// # Reads and concurrency
//
// Reads of committed state (Get, Iterate, IterateFrom, Prove, ExportRecords,
// Height, AppHash) go through a snapshot: a Badger read transaction opened
// after the last block was fully applied, together with that block's height
// and root. A commit applies its changeset while readers keep using the old
// snapshot and publishes a new one only when the block is completely
// applied, so a reader never observes a half-applied block and commits never
// wait for readers (nor readers for commits). Store.View runs several reads
// against one snapshot, e.g. a range listing with a proof per record, all at
// the same height. Read callbacks may read and even commit, but must not
// call Close, which waits for running reads.
//
// After each commit the next Stage imports the trie afresh from the committed
// root (smt.ImportSparseMerkleSumTrie), so memory does not grow with every
// node ever touched. A bounded cache of trie nodes (Options.NodeCacheSize,
// default 128 MiB) spares Badger reads of the upper trie levels in every
// block; nodes are content-addressed, so the cache cannot change results.
//
// The redo chunks are garbage in Badger's value log once deleted. On-disk
// stores run Badger's value-log GC every Options.ValueLogGCEvery commits
// (default 50; see RunValueLogGC).
//
// # Proofs
//
// Store.Prove returns a CometBFT ProofOps holding one operation of type
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
// # Limits
//
// Keys must be 1..MaxKeySize bytes, values at most MaxValueSize bytes (empty
// values are allowed and are distinct from absent records). The trie's sum
// is a uint64 that wraps on overflow; the caller keeps weights small enough.
//
// The package uses no wall clock, no randomness and no networking; the same
// sequence of stage operations and commits gives the same roots everywhere.
package store
