//go:build unix

// Package filelock takes exclusive advisory locks on files (flock), shared
// by the card files and the card tests' reader lock.
package filelock

import (
	"os"
	"syscall"
)

// Lock takes an exclusive flock on the file at path, creating it with perm
// if needed, and returns the function that releases it. It waits for a
// lock another process holds. The kernel releases the lock if the process
// dies, so a crash never leaves the file locked.
func Lock(path string, perm os.FileMode) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
