// Package lightverify reads MyKey Ledger records from one node and proves
// every answer against block headers, so that an auditor trusts no node.
//
// A node answers ABCI queries at its last committed height H only. The
// app hash that commits to the state after block H is in the header of
// block H+1, so every answer is checked in three steps:
//
//  1. The header of block H+1 is verified with CometBFT's light client
//     (skipping verification, github.com/cometbft/cometbft/light), starting
//     from a trust anchor the auditor chose: a trusted height and header
//     hash (TrustHeight, TrustHash), or a genesis file, whose validators
//     must have signed the chain's first block (Genesis).
//  2. Each record's Merkle proof (the app's "mykey:smst" proof operation)
//     is checked against that header's AppHash with proof.VerifyValue, an
//     absent record's with proof.VerifyAbsence.
//  3. A "/range" answer must also be well formed: keys under the asked
//     prefix, strictly increasing, after the cursor, and a next cursor
//     that is the last key or empty.
//
// An answer that fails step 2 or 3 is a *ProofError and a header that
// fails step 1 a *HeaderError; both name the node, and callers stop and
// say not to trust it. A record's proof cannot show that the node left no
// record out of a range; the range's count record can: every answer over a
// counted directory carries the proved number of records under it
// (app/types CountKey), and a caller that reads the whole range adds its
// pages up in a Tally, whose Check fails with a *ProofError ("incomplete
// range: node returned N of M records under dir") when records are
// missing. Package report also checks totals the state root commits to.
//
// With Options.Insecure nothing is verified (no proofs are asked for, the
// app hash is read from an unverified header) and Client.Verified reports
// false, so that output can say UNVERIFIED.
//
// A Client is safe for concurrent use.
package lightverify
