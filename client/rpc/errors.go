package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// UnreachableError is a node that does not answer: nothing listens at its
// address, or the connection failed or timed out.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("rpc: cannot reach the node at %s (%s): is mykeyd running there? "+
		"Start the local network (mykeyd start --home DIR for each node), "+
		"or point at a running node with --node URL or MYKEY_NODE", e.URL, reason(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// reason says in a few words why a connection failed.
func reason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "unknown host " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// isUnreachable tells a failure to talk to the node from an error the
// node answered with.
func isUnreachable(err error) bool {
	var op *net.OpError
	var ue *url.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.As(err, &op), errors.As(err, &dns):
		return true
	case errors.As(err, &ue):
		return true
	}
	return false
}
