//go:build unix

package cardfile

import (
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive flock on the file at path, creating it if needed,
// and returns the function that releases it. The kernel releases the lock
// if the process dies, so a crash never leaves a card locked.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cardfile: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cardfile: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
