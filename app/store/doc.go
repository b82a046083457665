// Package store is MyKey Ledger's application state: a key/value store of
// records kept in Badger v4, plus a sparse Merkle sum trie over the same
// records, exactly pokt-network/smt's SMST with sha256 (same root, same
// proofs) but computed by this package without storing the trie's nodes. The trie root is the CometBFT
// app hash, so it commits to every record and, through the sum trie, to the
// total weight of all records (the app uses weight = yen granted for grant
// records and 0 for everything else) and to the number of records.
//
// # Root format
//
// AppHash and Stage.Root return the SMST root: a 32-byte sha256 digest
// followed by the 8-byte big-endian sum of all weights and the 8-byte
// big-endian count of records (48 bytes). The empty store has the SMST's
// empty root, 48 zero bytes. proof.RootSum and proof.RootCount decode the two
// trailers.
//
// The trie leaf for a record is keyed by the record key (the SMST hashes it
// into the 256-bit path) and holds the value 0x00 || value with the record's
// weight. The 0x00 prefix exists because smt treats an empty value with a
// zero weight as "absent" during proof verification; with the prefix an
// empty record value is provable like any other.
//
// # The trie without stored nodes
//
// The trie's nodes are not stored. Its digests are a function of the set of
// leaves alone (trie.go spells the recursion out; a subtree holding one
// leaf is that leaf, one holding two or more is an inner node over its two
// halves), so the store keeps the leaves, sorted by path, and computes the
// nodes it needs:
//
//   - In memory, an upper trie of "buckets": each bucket is a path prefix
//     holding at most Options.BucketSize leaves (default 32), and every node
//     above the buckets carries its digest. Memory is about 200 bytes per
//     bucket, i.e. 6 to 12 bytes per record.
//   - A change recomputes the buckets it lands in from their leaves (one
//     Badger range scan per bucket, or none if the bucket's leaves are in
//     the bucket cache) and the in-memory nodes above them. A bucket that
//     grows beyond BucketSize is split; two small siblings are joined.
//
// So a changed record costs one record write and one leaf write, however
// large the state, instead of a path of some 25 trie nodes written and as
// many orphaned nodes deleted; reads per change are one range scan of a
// few dozen leaves instead of a chain of node lookups. Hashing per change
// is about BucketSize hashes plus the changed in-memory nodes; Stage.Root
// hashes the records and updates the two halves of the trie on all cores.
//
// The in-memory trie is persistent: a stage builds new nodes for what it
// changes and shares the rest, and each committed snapshot holds its own
// root, so a reader proves against exactly the block it reads while later
// blocks commit.
//
// Open rebuilds the in-memory trie. Close saves its bucket layer (each
// bucket's depth and digest, in path order: some 35 to 45 bytes a bucket,
// about 1.5 MB per million records, in checksummed chunks of 4 MiB under
// t/) with the height, root and BucketSize it belongs to. If Open finds a
// saved layer whose checksums pass and whose height, root and bucket size
// equal the committed ones (after redo replay), it builds the trie from
// it, hashing only the inner nodes above the buckets (on all cores), and
// checks that they give the committed root: O(buckets) instead of reading
// and hashing every leaf (30 to 60 times faster at 1 to 4 million
// records, see BenchmarkReopen). The trie then has the very buckets it had
// when the store was closed. Else
// (no layer, a stale one because the store crashed after a commit, a
// corrupt one, another BucketSize, a root mismatch) Open deletes the layer,
// reads all leaves in path order (on all cores) and checks that they give
// the committed root; this costs O(records). The first commit after Open
// deletes the layer, since it no longer describes the committed block. A
// trie built from the layer has read no leaves: a leaf damaged on disk is
// reported by the first read of its bucket (a digest mismatch error), not
// by Open. Only Close saves the layer; a store that crashed, or whose
// commit failed, rebuilds from the leaves at the next Open.
//
// The bucket cache starts warm either way, as far as its size allows: a
// rebuild from the leaves (and a bulk load) caches the buckets it makes
// while it has room, and after an Open through the layer, with
// Options.WarmCache, a background goroutine reads the buckets in path order
// (each checked against its digest) into the cache until it is full
// (warm.go); Close stops it. The cache affects speed only.
//
// # Badger layout
//
//	r/<key>                  8-byte big-endian weight || value   (records)
//	l/<path>                 trie leaf of the record whose key hashes to path:
//	                         sha256(0x00||value) || 8-byte weight || leaf hash
//	m/height                 8-byte big-endian last committed height
//	m/root                   48-byte last committed root
//	w/<height:8>/c<idx:4>    redo log chunk (part of one block's changeset)
//	w/<height:8>/m           redo log marker: chunk count, height, root
//	t/h                      saved bucket layer header: height, root, bucket
//	                         size, bucket and chunk counts, checksums
//	t/c<idx:4>               saved bucket layer chunk: bucket entries, checksum
//
// # Blocks, commits and the redo log
//
// Store.Stage returns a working set for one block over the committed state.
// Stage.Set/Delete buffer records in memory; Stage.Root applies the keys
// changed since the previous Root call to the stage's own copy of the upper
// trie (the root depends only on the resulting set of records, never on
// call order) and returns the new root.
//
// Store.Commit turns a stage into a changeset (leaf puts/deletes and record
// puts/deletes, each key in sorted order) and makes it durable atomically
// with the new height and root:
//
//   - If the changeset fits one Badger transaction (about 15 % of the
//     memtable, default 256 MiB: some 400,000 entries or 38 MB, i.e. a
//     block of well over 20,000 links), it is written in ONE transaction
//     together with m/height and m/root. That transaction is the commit
//     point; there is nothing to recover.
//   - Otherwise it goes through the redo log:
//     1. The changeset is encoded into chunks (RedoChunkSize each, default
//     4 MiB) stored under w/<height>/c<i>. Chunks are large values, so they
//     go to Badger's value log and cost only about 40 bytes each against
//     Badger's transaction size limit. Commit first tries to put all
//     chunks, the marker w/<height>/m, m/height and m/root into ONE
//     transaction. If that transaction would be too big (ErrTxnTooBig;
//     nothing has been written then) the chunks are written in as many
//     transactions as needed and the marker, m/height and m/root follow in
//     one final, small transaction. Either way the transaction that writes
//     m/height and m/root is the commit point, and it always contains the
//     marker; chunks without a marker are garbage from an interrupted
//     commit and are deleted by Open.
//     2. The changeset is applied to the l/ and r/ keys with a Badger
//     WriteBatch (any number of transactions).
//     3. The redo entry is deleted (the marker first, in the first
//     transaction).
//
// Badger runs with SyncWrites for on-disk stores, so every step is on disk
// before the next starts and the block is durable when Commit returns. Open
// replays the redo entry of the committed height if its marker is present
// (the changeset holds final values, so replaying it is idempotent), and
// deletes every redo entry: one of a lower height was fully applied before
// a later block committed, and chunks without a marker never committed.
// After a crash at any point Open therefore finds either the previous block
// (no marker) or the new one (marker present; replayed), never a mix. In-memory stores
// (Options.InMemory, for tests) skip the redo log: they cannot survive a
// crash anyway.
//
// Bulk loads a large state into an empty store without Badger's memtable:
// each Bulk.Flush sorts the records set since the one before into a run
// (a temporary file in the store; in memory for in-memory stores) that
// Bulk.Get searches through a Bloom filter and a sparse index, and the
// leaves are kept per first path byte (spilled to temporary files beyond
// a limit). Commit sorts the leaves, builds the trie from them (filling
// the bucket cache with the buckets it makes, as many as fit), merges the
// runs (the last write of a key wins, deleted keys are left out) and
// writes leaves and records, now in key order, with Badger's StreamWriter
// straight into the LSM tree's last level: no memtable inserts and no
// compaction afterwards. The StreamWriter drops everything in Badger first
// and restarts its timestamps, so it is used only when Badger holds
// nothing and no reader holds an older read timestamp (a new store's
// timestamp is first moved from 0 to 1, as Badger's point reads miss
// entries of version 0); otherwise Commit writes through write batches.
// Only after the StreamWriter's Flush are m/height and m/root written, in
// an ordinary transaction: a crash before that leaves records without a
// committed height, which Open removes (with the temporary files).
// ImportRecords (state sync) and the app's BulkLink (benchmark pre-fills,
// in a test file) use it.
//
// # Reads and concurrency
//
// Reads of committed state (Get, Iterate, IterateFrom, Prove, ExportRecords,
// Height, AppHash) go through a snapshot: a Badger read transaction opened
// after the last block was fully applied, together with that block's height,
// root and in-memory trie. A commit applies its changeset while readers keep
// using the old snapshot and publishes a new one only when the block is
// completely applied, so a reader never observes a half-applied block and
// commits never wait for readers (nor readers for commits). Store.View runs
// several reads against one snapshot, e.g. a range listing with a proof per
// record, all at the same height. Read callbacks may read and even commit,
// but must not call Close, which waits for running reads.
//
// A bounded cache of bucket leaves (Options.CacheSize, default 256 MiB)
// spares Badger reads of buckets touched block after block (counters,
// totals); it is keyed by the bucket's digest, which determines its leaves,
// so it cannot change results. Each snapshot also remembers up to 65,536
// records read at its block; Prefetch fills that memo on all cores before
// the app executes a block in order. The memo belongs to one committed
// block, so it is never stale.
//
// The redo chunks are garbage in Badger's value log once deleted. On-disk
// stores run Badger's value-log GC every Options.ValueLogGCEvery commits
// (default 50; see RunValueLogGC).
//
// # Proofs
//
// Store.Prove returns a CometBFT ProofOps holding one operation of type
// proof.ProofOpType ("mykey:smst"): smt's SparseCompactMerkleProof, built by
// this package from the in-memory trie and the leaves of one bucket
// (trie_test.go checks that it equals what smt's own Prove gives), plus the
// weight. Package app/proof holds its encoding and its verification, which
// need neither Badger nor this package, so that clients verify without
// linking the store.
//
// # Limits
//
// Keys must be 1..MaxKeySize bytes, values at most MaxValueSize bytes (empty
// values are allowed and are distinct from absent records). The trie's sum
// is a uint64 that wraps on overflow; the caller keeps weights small enough.
//
// The package uses no wall clock, no randomness and no networking; the same
// sequence of stage operations and commits gives the same roots everywhere.
// Its goroutines (hashing and leaf reads on all cores, a bulk load's
// background writes) only split work whose result does not depend on their
// order.
package store
