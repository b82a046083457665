// Package audit is `mykey audit`: the auditor's commands. An auditor holds
// no key and trusts no node: every figure is proved against block headers
// that CometBFT's light client verified from a trust anchor the auditor
// chose (package lightverify), and the figures are reconciled against the
// total the state root commits to (package report).
//
//	mykey audit summary                 per program and provider: linked, grants, granted, settled, recovered, outstanding, budget left
//	mykey audit provider ID             one provider: totals, grants per day, over-grants, history
//	mykey audit person MYKEY_ID         linkage, link history, totals, grants, corrections, successions
//	mykey audit history [--kind K]      corrections, successions, revocations, settlements, provider changes
//	mykey audit export [--program P] [--provider V] [--since T] [--until T] [--format csv|jsonl] [--output FILE]
//	mykey audit reconcile               root sum = grants = provider totals; settled <= granted; ...
//	mykey audit serve [--listen ADDR]   the web explorer (package web)
//
// Every command takes --node URL (default $MYKEY_NODE, else the first node
// of --network DIR / $MYKEY_NETWORK, else http://127.0.0.1:26657) and
// --json, and a trust anchor: --trust-height N --trust-hash HEX, or
// --genesis FILE (default: the --network's genesis). --witness URL adds
// nodes whose headers must agree. --insecure-no-verify reads without
// verifying, and the output then says UNVERIFIED.
//
// Results go to stdout, progress and messages to stderr. Errors carry an
// exit status (*ExitError): 1 could not complete, 2 bad usage, 4 not
// found, 5 a node gave data that failed verification (the node is named),
// 6 the figures do not reconcile (the records are named).
package audit
