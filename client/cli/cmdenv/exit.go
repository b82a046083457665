package cmdenv

import (
	"errors"
	"fmt"
)

// Exit statuses of every mykey command. Statuses 5 and 6 are the
// auditor's (mykey audit); the others mean the same for every command.
const (
	ExitOK = 0
	// ExitFailure: the command could not complete (node unreachable, card
	// or file problem, no commit in time).
	ExitFailure = 1
	// ExitUsage: bad usage or input (flags, a malformed file, a local
	// network directory without network.json).
	ExitUsage = 2
	// ExitRejected: the ledger refused what was sent (the result is still
	// printed, with its code and reason).
	ExitRejected = 3
	// ExitNotFound: a query found nothing.
	ExitNotFound = 4
	// ExitUntrusted: a node's answer failed verification (the node is
	// named).
	ExitUntrusted = 5
	// ExitMismatch: the figures do not reconcile (the records are named).
	ExitMismatch = 6
)

// ExitError is an error with the exit status it ends the process with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the exit status the error ends the process with.
func (e *ExitError) ExitCode() int { return e.Code }

// Errorf is fmt.Errorf's error with exit status code.
func Errorf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error to the process's exit status: ExitOK for nil,
// an ExitError's status, else ExitFailure.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitFailure
}
