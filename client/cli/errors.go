package cli

import (
	"errors"
	"fmt"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/cli/cmdenv"
)

// Exit statuses (see the package documentation): one scheme for every
// command, audit's included (package cmdenv).
const (
	ExitOK        = cmdenv.ExitOK
	ExitFailure   = cmdenv.ExitFailure
	ExitUsage     = cmdenv.ExitUsage
	ExitRejected  = cmdenv.ExitRejected
	ExitNotFound  = cmdenv.ExitNotFound
	ExitUntrusted = cmdenv.ExitUntrusted
	ExitMismatch  = cmdenv.ExitMismatch
)

func usageErr(format string, args ...any) error {
	return cmdenv.Errorf(ExitUsage, format, args...)
}

func notFound(format string, args ...any) error {
	return cmdenv.Errorf(ExitNotFound, format, args...)
}

// rejected is the ledger's refusal (code != 0) of what was sent, in plain
// words with what to do.
func rejected(what string, code uint32, log string) error {
	return &cmdenv.ExitError{Code: ExitRejected, Err: errors.New(RejectionText(what, code, log))}
}

// RejectionText says why the ledger refused something and what to do:
// "the ledger rejected the link: <log> (code 11, already_linked). <hint>".
func RejectionText(what string, code uint32, log string) string {
	name := types.CodeName(code)
	if name == "" {
		name = "unknown code"
	}
	if log == "" {
		log = "no reason given"
	}
	s := fmt.Sprintf("the ledger rejected %s: %s (code %d, %s)", what, log, code, name)
	if h := hints[code]; h != "" {
		s += ". " + h
	}
	return s
}

// hints say what to do after a rejection.
var hints = map[uint32]string{
	types.ErrWrongChain.Code:         "The request was signed for another network: check --node, and sign again",
	types.ErrExpired.Code:            "The signed request is too old: sign it again",
	types.ErrBadSignature.Code:       "Check that the key or card matches what the ledger has registered",
	types.ErrUntrustedCert.Code:      "This network does not trust the card's issuer: use a card of this network's CA",
	types.ErrCertExpired.Code:        "The card's certificate has expired: renew it at your municipal office, then link with the new certificate",
	types.ErrCertRevoked.Code:        "The card's certificate was revoked: use your new card; the government records the succession",
	types.ErrUnknownProvider.Code:    "Check the provider ID: mykey query provider ID",
	types.ErrProviderSuspended.Code:  "The provider is suspended: choose another provider",
	types.ErrWindowClosed.Code:       "The program does not take this now: see its windows with mykey query program ID",
	types.ErrAlreadyLinked.Code:      "A linkage is final: if it is wrong, the government can correct it (mykey gov correct-linkage)",
	types.ErrAccountLinked.Code:      "This account already belongs to another person in this program: make sure you are logged in to your own account, or contact the provider",
	types.ErrNotLinked.Code:          "The person must first link to this provider (mykey link)",
	types.ErrDuplicateCharge.Code:    "This charge reference was recorded before: it is never granted twice",
	types.ErrCapReached.Code:         "The person has received the program's maximum",
	types.ErrBudgetExhausted.Code:    "The program's budget is used up",
	types.ErrUnauthorized.Code:       "Collect enough government authority signatures (mykey gov sign)",
	types.ErrBadSequence.Code:        "Another government action went first: make a new proposal with the next sequence (mykey query gov)",
	types.ErrUnknownProgram.Code:     "Check the program ID: mykey query program ID",
	types.ErrNotEligible.Code:        "The government has not attested this person for the program (mykey gov attest)",
	types.ErrUnknownMyKey.Code:       "Check the MyKey ID: mykey query mykey ID",
	types.ErrTooLarge.Code:           "Send fewer items per transaction",
	types.ErrWrongProvider.Code:      "The citizen signed this request for another provider",
	types.ErrReplayed.Code:           "A signed request takes effect once: sign a new one",
	types.ErrNotReady.Code:           "The network has just started: try again in a few seconds",
	types.ErrCertConflict.Code:       "Another card with this certificate's issuer and serial number is on the ledger: report it to J-LIS or your municipal office",
	types.ErrMalformed.Code:          "The transaction or query is not well formed: the log says which field; a client of another version can cause this",
	types.ErrCertKeyUsage.Code:       "Sign with the card's user-authentication key (not the signature certificate's)",
	types.ErrInvalidAction.Code:      "The action does not fit the ledger as it is now: the log says why; check it with mykey query",
	types.ErrSettlementTooLarge.Code: "Settle at most what is outstanding: mykey query totals --program ID --provider ID",
	types.ErrZeroGrant.Code:          "The charge is too small to earn a bonus at this program's rate",
	types.ErrNodeNotRegistered.Code:  "The government registers a validator's and its sentries' node IDs (mykey gov set-nodes)",
	types.ErrNotPublic.Code:          "This is not public: ask a validator's full RPC (--node), if you are one",
	types.ErrTooManyRequests.Code:    "This card has signed many link requests this week: wait for the oldest to expire (at most 7 days), then sign one new request",
	types.ErrInternal.Code:           "The node failed, not your request: try another node, and tell its operator",
}
