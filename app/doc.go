// Package app is MyKey Ledger's deterministic state machine: the rules of
// docs/DESIGN.md §3 behind CometBFT's ABCI.
//
// # The life of a transaction
//
// A transaction is a types.Tx holding one body: a citizen-signed link, a
// provider's batch of such links, a provider-signed grant of one or many
// charges, or a government action signed by k of n authority keys.
//
//  1. CheckTx (mempool, on the node that received it). The stateless
//     checks run first (staticCheck): the canonical decoding, field
//     shapes, the chain ID, and for links the request's expiry, the
//     certificate chain to a genesis trust anchor at the last block's
//     time, its key usage and the card's RSA signature. Then the state
//     rules run against the last committed state in a throwaway cache.
//     Conflicting claims that each pass against committed state (the same
//     card sent to two providers' nodes) both enter mempools; consensus
//     orders them. Recheck, after every block, runs the stateless checks
//     only: a claim that now conflicts with a committed one stays in the
//     mempool, so that its rejection is judged, and recorded, in a block.
//  2. PrepareProposal (the proposer) drops what is invalid whatever the
//     state, judged at the proposal's block time, and stays within
//     MaxTxBytes counted as CometBFT counts it. It keeps conflicting
//     claims: each is judged in FinalizeBlock, and the loser's attempt and
//     its rejection code stay on the ledger for auditors.
//  3. ProcessProposal (every validator) refuses a block that holds a
//     transaction invalid whatever the state.
//  4. FinalizeBlock executes the block's transactions in order. Each runs
//     in a child cache, and so does each link of a batch and each charge of
//     a grant: a rejected item leaves nothing in state but the record that
//     it was judged (cert/, charge/, history/; see "At most once"), an
//     accepted one is merged into the block's cache. Every transaction
//     gets a result with a code in codespace "mykey" (errors.go; for
//     several items 0 when any was accepted) and indexed events (link,
//     grant, gov), one per item, carrying program, provider, mykey_id and
//     outcome for tx_search. The block's cache is flushed, in key order, into the
//     store's stage, and the stage's sparse Merkle sum trie root becomes
//     the app hash.
//  5. Commit writes the stage — records, height and app hash — atomically:
//     one Badger transaction, or for a block too big for one the store's
//     redo log, whose marker transaction is the commit point (app/store).
//     Then it reloads the P2P allowlist if the block changed the node
//     registry (nodes.go) and, every SnapshotInterval blocks, writes a
//     state-sync snapshot of the committed state (snapshot.go).
//
// Query answers from the last committed state (query.go) without the
// App's lock, so reads never wait for consensus; with Prove each answer
// carries a proof against the app hash of its height.
//
// # At most once
//
// Every signed thing takes effect at most once, and one that was rejected
// cannot take effect later, when the state would let it, without a new
// signature:
//
//   - a citizen's link request is recorded (in its certificate's record,
//     cert/, until it expires) when it is judged, accepted or not; judged again, it is refused as replayed, or answered
//     already_linked when the linkage it made still stands as it made it.
//     A link batch is its links: each is judged, and recorded, on its own;
//   - a provider's charge is recorded under its reference (charge/) when it
//     is judged, with the yen granted or the rejection's code; the same
//     reference again, even with the same amount, is duplicate_charge and
//     grants nothing (the first judgement stays readable in charge/);
//   - a government action uses up its sequence number as soon as its k of n
//     signatures verify, whatever its outcome, as Cosmos SDK's ante handler
//     uses up an account sequence. A rejected action has to be signed anew,
//     with the next sequence.
//
// The government sequence needs no record per action; link requests carry
// no nonce, so their sign bytes are the record, and charge references
// already are. Link request records are kept: a request past its expiry is
// refused anyway, so they could be pruned, which is left for later.
//
// # Validator updates
//
// The app keeps the validator set CometBFT will use (meta/validators).
// The block's power changes so far are netted per key (valset.go: a key
// set back to its power at the block's start, or a key that was no
// validator set to 0, sends nothing), and each government action that
// changes a validator's key or power is checked by applying the block's
// net changes to a copy of the set with CometBFT's own
// ValidatorSet.UpdateWithChangeSet. An action CometBFT would refuse (a
// negative power, a total above MaxTotalVotingPower, an empty set) is
// rejected with invalid_action, and a rejected action sends no update.
//
// # What is saved when
//
// Nothing of a block reaches disk before Commit. A crash between
// FinalizeBlock and Commit leaves the store at the previous block: Info
// reports that height and app hash, and CometBFT replays the block, which
// gives the same app hash. InitChain's genesis state is committed together
// with the first block. Snapshots are written after Commit, from the
// committed state, into their own directory (app/snapshot); a failure to
// write one stops the node, but never changes the state. State sync
// (ApplySnapshotChunk) and the benchmarks' BulkLink (a test file) load a whole state
// through the store's bulk loader, which commits it in one step.
//
// # Determinism
//
// Every node must compute the same results and app hash. So this package
// reads no clock (time is the block time given by CometBFT; CheckTx uses
// the last committed block's time), uses no randomness and no floats,
// reads nothing but its store (the only other files it writes are the
// snapshots, after Commit), never lets map iteration order reach output
// (caches are flushed in sorted key order) and starts no goroutine whose
// result order matters (preverify checks signatures and reads records on
// all cores only to warm caches; execution then runs in order). Certificates are verified with
// x509.VerifyOptions.CurrentTime set to the block time. The caches of
// verified signatures and certificate chains only skip repeated work on a
// pure function; whether an entry is present never changes a result.
//
// # Errors
//
// Every input, signed by anyone, gets a registered code (errors.go): a bad
// transaction gets a non-zero code and a nil error, and CheckTx before the
// first Commit answers not_ready. FinalizeBlock and CheckTx return a Go
// error only when the store fails (or a record in it does not decode),
// Commit when the store or a snapshot cannot be written, and CometBFT
// stops the node rather than diverge. PrepareProposal and ProcessProposal
// never return one: they drop, or refuse, what fails the stateless checks. The simulation (sim_test.go) checks this with random and
// byzantine blocks.
//
// # State
//
// app/types/keys.go lists every record kind and its key. The app hash is
// the root of a sparse Merkle sum trie over all records; grant records weigh the yen
// they granted, so the root also commits to the total yen granted. Each
// counted directory has a count record (types.CountedRoots), maintained
// when a block's cache is flushed, so that a client paging through a range
// can tell that no record was left out. Query
// with Prove returns ProofOps that CometBFT's merkle.ProofRuntime verifies
// (see proof.ProofRuntime).
package app
