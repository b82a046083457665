// Package faults is MyKey Ledger's fault suite. Its tests prove that no
// fault and no input makes the ledger pay twice, lose a committed grant or
// stop while a quorum is up. Everything is in the tests; this file only
// documents them.
//
// TestFaults builds a static mykeyd, an image FROM scratch (docker/Dockerfile)
// and a 4-validator network in containers (package docker): node 0 is the
// government's, nodes 1-3 belong to paypay, linepay and rakutenpay. Then,
// one after the other, it injects
//
//   - a partition of one validator (docker network disconnect),
//   - a partition of two validators (no commits are allowed then),
//   - SIGKILL of a validator and a restart,
//   - docker pause and unpause of a validator,
//   - a rolling restart of all four (SIGTERM, must exit cleanly),
//   - a validator's data directory restored from an older copy,
//
// each with a bounded storm: the same cards linked to different providers
// through different nodes, two cards claiming one provider account, grants
// with racing and replayed charge references and charges over the cap,
// some of it through the real `mykey` command. After each fault heals it
// checks that every node computed the same app hash at every height, that
// all nodes hold identical records, that there is one linkage per
// (program, MyKey ID) and per provider account, that nobody is over the
// cap, that every grant a client saw committed is in the ledger, and that
// blocks kept coming whenever three of four validators were connected.
// Then hostile input goes to the live nodes (malformed and oversized
// transactions, wrong chain, expired and replayed requests, signatures
// over altered fields, untrusted, expired and revoked certificates, a
// government action short of signatures): each must be refused with its
// code and leave every record as it was. Finally every node's data
// directory (files, and the records of its Badger and Pebble stores),
// every container log and every client output is scanned for the account
// strings the storms used and for the card PIN. A report is printed at
// the end (and written to $MYKEY_FAULTS_REPORT when set).
//
// Docker: when `docker info` fails, TestFaults fails if
// MYKEY_REQUIRE_DOCKER=1 (CI sets it) and is skipped otherwise. It needs
// docker compose (the plugin or docker-compose 1.x) and a host that can
// reach the containers' addresses on the bridge networks it creates. It
// takes three to five minutes on 2 cores, building included, and refuses
// to start with less than nine minutes left before the test deadline.
// Everything it creates is named mykey-faults-<pid>-<id> and removed at
// the end (a later run removes what a killed run left);
// MYKEY_FAULTS_KEEP=DIR keeps the run directory (node homes, logs,
// client outputs) in DIR.
//
// TestFuzzCheckTx and TestFuzzGenesisInitChain run app's FuzzCheckTx and
// FuzzGenesisInitChain, each for a bounded time ($MYKEY_FUZZTIME, default
// 30s); they need no Docker. All are skipped
// with -short. TestChecksCatchViolations and TestLeakScan show, without
// Docker, that the checks and the leak scan find what they look for.
package faults
