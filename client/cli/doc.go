// Package cli is the mykey command: the MyKey Ledger client for citizens,
// providers, the government and auditors. One file per command group;
// cmd/mykey only calls Main.
//
//	mykey link --program P --provider X --account TOKEN [--card SPEC] [--out FILE]
//	mykey link submit-batch --key KEY FILE|DIR...
//	mykey card info | card emulate | testca init | testca issue   (package cardcmd)
//	mykey grant --key KEY --program P --mykey ID --charge-ref REF --amount YEN
//	mykey grant import --key KEY FILE.csv
//	mykey gov register-provider|update-provider|set-program|revoke|succession|
//	          attest|settle|correct-linkage ... (--key KEY... | --out PROPOSAL)
//	mykey gov sign --key KEY PROPOSAL;  mykey gov submit PROPOSAL SIG...;  mykey gov show FILE
//	mykey query mykey|link|provider|program|charge|person|totals|cert|gov|tx ...
//	mykey status
//	mykey audit ...   (package audit: every figure proved against verified headers)
//
// One root for every command, audit's included: each group gets the run
// (package cmdenv) with the injected Env (tests pass a fake one; nothing
// reads os.Getenv) and the root's flags. Every command takes --node URL
// (default: $MYKEY_NODE, else the first node of the local network in
// --network DIR or $MYKEY_NETWORK, else http://127.0.0.1:26657) and --json.
// Results go to stdout (with --json, one JSON document whose fields are
// stable), messages and progress to stderr.
//
// Exit status, one scheme for every command (cmdenv.ExitCode): 0 success;
// 1 the command could not complete (node unreachable, card or file
// problem, no commit in time); 2 bad usage or input (flags, a malformed
// CSV file, a --network directory without network.json); 3 the ledger
// refused (the result is still printed, with its code and reason); 4 a
// query found nothing; 5 and 6 are audit's (an answer failed verification;
// figures do not reconcile).
package cli
