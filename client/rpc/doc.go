// Package rpc talks to a MyKey Ledger node through CometBFT's RPC.
//
// Node is what the mykey commands need of a node: its status (chain ID,
// height, block time), ABCI queries of store records (one or many at a
// time), broadcasting a transaction and CheckTx's answer, looking a
// committed transaction up by hash, and a header's app hash to verify
// query proofs against. Dial returns the HTTP implementation; package
// rpctest has one backed by an in-process app, for tests.
//
// Submit is the one way a command sends a transaction: broadcast_tx_sync,
// so that a CheckTx rejection is reported at once with its code, then
// polling tx by hash until the transaction is in a block, so that success
// is confirmed by a height. It recognises a transaction the node already
// has (a rerun), a full mempool (it retries), and a transaction the
// mempool dropped at Recheck because an earlier block made it invalid
// (it reports CheckTx's answer then).
//
// Errors that come from not reaching the node are *UnreachableError and
// say what to do.
package rpc
