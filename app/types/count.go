package types

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Record counts. For every directory of the state that a "/range" query
// pages through, the state holds a count record, CountPrefix + dir, whose
// value is the number of records under dir (8 bytes, big-endian). A count
// that would be zero is no record at all, so its proved absence proves
// that the directory is empty. A directory is a prefix ending in "/" under
// one of CountedRoots; every level is counted: a grant record
// "charge/<program>/<provider>/<ref>" counts in "charge/",
// "charge/<program>/" and "charge/<program>/<provider>/". IDs never contain
// "/", so a key's directories are exactly its prefixes ending in "/".
//
// The app maintains the counts when a block's writes are flushed; clients
// check that a range paged through in full holds as many records as its
// proved count, so that a node cannot leave records out unnoticed.

// CountPrefix is the prefix of the count records.
const CountPrefix = "count/"

// CountedRoots are the top-level directories whose records are counted.
var CountedRoots = []string{
	PrefixCharge,
	PrefixDaily,
	PrefixHistory,
	PrefixLink,
	PrefixMyKey,
	PrefixOverGrant,
	PrefixPerson,
	PrefixProgram,
	PrefixProgramTotals,
	PrefixProvider,
	PrefixProviderTotals,
}

// fallingRoots are the counted directories whose records the ledger may
// delete (a merged person's linkage and totals). Under every other
// counted directory a count never falls from one block to the next, so a
// record present at one height is present at every later one.
var fallingRoots = []string{PrefixLink, PrefixPerson}

// CountMayFall reports whether the count of the counted directory dir may
// fall from one block to the next.
func CountMayFall(dir string) bool {
	for _, r := range fallingRoots {
		if strings.HasPrefix(dir, r) {
			return true
		}
	}
	return false
}

func countedRoot(key string) string {
	for _, r := range CountedRoots {
		if strings.HasPrefix(key, r) {
			return r
		}
	}
	return ""
}

// Counted reports whether prefix is a counted directory: the state holds
// the number of records under it.
func Counted(prefix string) bool {
	return strings.HasSuffix(prefix, "/") && countedRoot(prefix) != ""
}

// CountedKey reports whether the record at key is counted (it lies under
// one of CountedRoots).
func CountedKey(key string) bool { return countedRoot(key) != "" }

// CountKey is the key of the count record of the counted directory dir.
func CountKey(dir string) string { return CountPrefix + dir }

// CountDirs appends to dirs the counted directories that hold the record
// at key (none for a key outside CountedRoots), outermost first.
func CountDirs(dirs []string, key string) []string {
	root := countedRoot(key)
	if root == "" {
		return dirs
	}
	for i := len(root) - 1; i < len(key)-1; i++ {
		if key[i] == '/' {
			dirs = append(dirs, key[:i+1])
		}
	}
	return dirs
}

// EncodeCount is the value of a count record holding n (> 0).
func EncodeCount(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// DecodeCount reads a count record's value; an absent record (nil or
// empty value) is zero.
func DecodeCount(value []byte) (uint64, error) {
	switch len(value) {
	case 0:
		return 0, nil
	case 8:
		n := binary.BigEndian.Uint64(value)
		if n == 0 {
			return 0, fmt.Errorf("count record holds zero (it should be absent)")
		}
		return n, nil
	}
	return 0, fmt.Errorf("count record of %d bytes, want 8", len(value))
}
