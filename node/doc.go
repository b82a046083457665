// Package node is mykeyd: a MyKey Ledger node is CometBFT v1 running
// in-process with the ledger (package app) through a local ABCI client.
//
// What it adds to CometBFT:
//
//   - Configuration (config.go): one file, <home>/config/config.toml,
//     holding CometBFT's sections (written from CometBFT's own commented
//     template) and a [mykey] section (AppConfig). LoadConfig reads it
//     strictly: an unknown key is an error.
//   - Running (run.go): New checks the genesis file (genesis.Load) and the
//     network pseudonym key (mykey.pseudonym_key_file, see app/pseudonym)
//     against genesis's commitment, stopping at once if it is missing or
//     wrong, opens the app state in <home>/data/mykey (Badger) with its snapshots in
//     <home>/data/snapshots, and builds the CometBFT node; Run starts it
//     and stops it cleanly when its context ends (SIGINT, SIGTERM).
//   - Metrics (metrics.go): the ledger's counters, derived from the results
//     and events of committed blocks by wrapping the ABCI application
//     (Instrument), on CometBFT's Prometheus registry and namespace.
//   - Readiness (ready.go): GET /ready is 200 only when the node is caught
//     up and has peers.
//   - The public endpoint (public.go), on mykey.public_laddr: CometBFT's
//     JSON-RPC with only what auditors need (PublicRoutes: headers,
//     commits, validator sets, and abci_query of the records
//     app/types.PublicKey allows). Blocks and transactions carry citizens'
//     certificates, so CometBFT's full RPC (rpc.laddr, 127.0.0.1 by
//     default and in test networks) is for the node's operator and the
//     validators' tools only; publish the public endpoint, never it.
//   - Setup (init.go, statesync.go, testnet.go): a node's home (InitHome,
//     which generates a pseudonym key for a new network's first node or
//     installs the network's),
//     the state-sync trust root from running nodes (TrustFromRPC), and a
//     whole test network on 127.0.0.1 (Testnet).
//   - Test only (crashhook.go): with MYKEY_TEST_CRASH_AFTER_FINALIZE=H in
//     its environment, mykeyd logs "crash hook: exiting after
//     FinalizeBlock of height H" and exits with status 86 (CrashExitCode)
//     right after the app's FinalizeBlock of height H returns, before
//     Commit: a real crash between executing and committing a block, for
//     node/e2e. The hook wraps the ABCI application, so package app knows
//     nothing of it. Never set it on a node that matters.
//
// The commands are in node/cli, the multi-node tests in node/e2e.
package node
