//go:build !unix

package cardfile

import "errors"

func lock(path string) (func(), error) {
	return nil, errors.New("cardfile: file locking is supported on Unix systems only")
}
