// Package cardcmd holds the card commands of the mykey client, as cobra
// commands for cmd/mykey to mount, and the card flags every signing
// command shares:
//
//	mykey card emulate --card FILE [--vpcd HOST:PORT]   NewEmulateCmd
//	mykey card info [--card SPEC] [--json]              NewInfoCmd
//	mykey testca init --out DIR                         NewTestCACmd
//	mykey testca issue --ca DIR --out FILE [--pin 1234] NewTestCACmd
//
// NewCardCmd returns the "card" command with emulate and info under it.
// Commands write results to the command's output (stdout), messages to its
// error stream (stderr), and return errors that say what to do; the caller
// prints them and exits non-zero.
//
// A signing command (mykey link) uses CardFlags: Register adds --card,
// --pin-stdin and --card-wait; Open opens the card (waiting for one with a
// message); ReadPIN reads the PIN without echo, or from stdin with
// --pin-stdin. The PIN goes to the card only.
package cardcmd
