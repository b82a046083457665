//go:build !unix

// Package filelock takes exclusive advisory locks on files (flock), shared
// by the card files and the card tests' reader lock.
package filelock

import (
	"errors"
	"os"
)

// Lock is supported on Unix systems only.
func Lock(path string, perm os.FileMode) (unlock func(), err error) {
	return nil, errors.New("file locking is supported on Unix systems only")
}
