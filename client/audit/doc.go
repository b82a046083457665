// Package audit is `mykey audit`: the auditor's commands. An auditor holds
// no key and trusts no node: every figure is proved against block headers
// that CometBFT's light client verified from a trust anchor the auditor
// chose (package lightverify), and the figures are reconciled against the
// total the state root commits to (package report).
//
//	mykey audit summary                 per program and provider: linked, grants, granted, settled, recovered, outstanding, budget left
//	mykey audit provider ID             one provider: totals, grants per day, over-grants, history
//	mykey audit person MYKEY_ID         linkage, link history, totals against the cap, corrections, successions
//	mykey audit history [--kind K]      corrections, successions, revocations, settlements, provider changes
//	mykey audit export [--program P] [--provider V] [--since T] [--until T] [--format csv|jsonl] [--output FILE]
//	mykey audit reconcile               root sum = daily records = program totals = provider totals; settled <= granted; ...
//	mykey audit serve [--listen ADDR]   the web explorer (package web)
//
// # The public side
//
// By default every command reads only public records, those a node's
// public endpoint serves (app/types.PublicKey). Single charges are not
// among them: a charge's amount, time to the second and provider
// reference, under a pseudonym, would make the pseudonym a spending
// record, and a few (day, shop) points are enough to re-identify most
// card holders. What is public is what an audit of the program needs:
//
//   - a person's totals (granted, recovered, attested) check the cap: what
//     the person keeps never exceeds it, and "cap left" says how much is
//     left;
//   - the provider the person is linked to, with the linkage's history,
//     checks the one-linkage rule (one provider per person and program)
//     and every correction of it;
//   - the daily records, grants and yen per program, provider and day
//     (the day the ledger recorded them, in Japan), check the budget over
//     time and reconcile with the settlements a provider is paid, which
//     are made per period, never per charge; they add up to the program
//     and provider totals and to the total the state root commits to;
//   - the program and provider totals check the budget and what is owed
//     to each provider (granted − settled − recovered);
//   - over-grants and the history of government actions check every
//     recovery, correction, succession and settlement.
//
// # Charge-level detail
//
// Validators and government auditors read the charge records through a
// validator's full RPC: --charges on export, reconcile and person reads
// them, checks the charges recorded at or before the height H0 of the
// totals against the totals at H0, and says, when the node refuses them
// (a public endpoint), that charge-level detail needs a validator's full
// RPC.
//
// NewCmd mounts these commands on mykey's root (client/cli) and runs them
// in its cmdenv.Run: the same injected environment, and mykey's --node URL
// (default $MYKEY_NODE, else the first node of --network DIR /
// $MYKEY_NETWORK: its public endpoint, or its full RPC with --charges;
// else http://127.0.0.1:26657), --network and --json. Every command also
// takes a trust anchor: --trust-height N --trust-hash HEX, or --genesis
// FILE (default: the --network's genesis). --witness URL adds nodes whose
// headers must agree. --insecure-no-verify reads without verifying, and
// the output then says UNVERIFIED.
//
// Results go to stdout, progress and messages to stderr. Errors carry an
// exit status in mykey's one scheme (*ExitError, package cmdenv): 1 could
// not complete, 2 bad usage, 4 not found, 5 a node gave data that failed
// verification (the node is named), 6 the figures do not reconcile (the
// records are named).
package audit
