package cardfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LockPath returns the lock file Update uses for the card file at path.
// The lock file is created on first use and never removed (removing a lock
// file while another process waits on it would let two processes in).
func LockPath(path string) string { return path + ".lock" }

// tempPattern names the temporary files of Create and Update; Load never
// reads them, so one left behind by a crash is harmless.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// Create writes c to a new card file at path with mode 0600. The file
// appears complete or not at all; Create fails with ErrExists if path
// already exists.
func Create(path string, c *Card) error {
	bz, err := Encode(c)
	if err != nil {
		return err
	}
	tmp, err := writeTemp(path, bz)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link publishes the complete file atomically and, unlike
	// rename, refuses to replace an existing one.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s (remove it first, or choose another --out)", ErrExists, path)
		}
		return fmt.Errorf("cardfile: create %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// Load reads the card file at path. Errors wrap ErrNotFound, ErrNotCardFile
// or ErrDamaged and name the file.
func Load(path string) (*Card, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: make one with `mykey testca issue --ca DIR --out %s`", ErrNotFound, path, path)
		}
		return nil, fmt.Errorf("cardfile: %w", err)
	}
	c, err := Decode(bz)
	if err != nil {
		if errors.Is(err, ErrNotCardFile) {
			return nil, fmt.Errorf("%w: %s", ErrNotCardFile, path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Update changes the card file at path under an exclusive lock: it locks
// LockPath(path) (waiting for any other holder, in this or another
// process), loads the card, calls fn on it and, if fn returns nil and
// changed the card, replaces the file atomically (temporary file, fsync,
// rename, fsync of the directory). If fn returns an error the file is left
// as it was and Update returns that error unchanged. fn must not keep the
// card after it returns.
func Update(path string, fn func(*Card) error) error {
	unlock, err := lock(LockPath(path))
	if err != nil {
		return err
	}
	defer unlock()
	old, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w at %s", ErrNotFound, path)
		}
		return fmt.Errorf("cardfile: %w", err)
	}
	c, err := Decode(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := fn(c); err != nil {
		return err
	}
	bz, err := Encode(c)
	if err != nil {
		return fmt.Errorf("cardfile: update %s: %w", path, err)
	}
	if bytes.Equal(bz, old) {
		return nil
	}
	tmp, err := writeTemp(path, bz)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cardfile: update %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes bz to a new fsynced temporary file, mode 0600, beside
// path and returns its name.
func writeTemp(path string, bz []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return "", fmt.Errorf("cardfile: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("cardfile: write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(bz); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("cardfile: write %s: %w", path, err)
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cardfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cardfile: sync %s: %w", dir, err)
	}
	return nil
}
