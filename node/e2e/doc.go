// Package e2e tests mykeyd as operators run it: each test writes a network
// as `mykeyd testnet` does (through internal/testnet, the harness every
// test package shares), starts every node as its own mykeyd process on
// 127.0.0.1 (so that a node can be stopped with SIGTERM or killed with
// SIGKILL), drives it through CometBFT's RPC, and checks the ledger's
// properties across nodes: one answer to a double claim, the same app hash
// at every height, no lost or repeated grant after a crash, recovery from
// a crash between FinalizeBlock and Commit (mykeyd's test-only crash
// hook), liveness with up to one validator of four down, state sync, and
// a whole-network restart; and the README's operator steps (init, keygen,
// genesis build, start). Every test is bounded in time and stops what it started.
//
// The tests are skipped with -short. The binary is built once per test
// process (MYKEY_TEST_BIN_DIR=DIR keeps it in DIR for the next run).
// When a test fails, the end of every node's log is printed; with
// E2E_LOGDIR=DIR the whole logs are kept in DIR/<test name>/.
package e2e
