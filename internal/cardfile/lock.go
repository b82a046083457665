package cardfile

import (
	"fmt"

	"github.com/mykeyledger/mykey/internal/filelock"
)

// lock takes an exclusive lock on the file at path (internal/filelock),
// creating it if needed, and returns the function that releases it.
func lock(path string) (unlock func(), err error) {
	unlock, err = filelock.Lock(path, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cardfile: lock: %w", err)
	}
	return unlock, nil
}
