package store

import (
	"fmt"
)

// testHook, when set (tests only), is called at named points of Commit.
// A non-nil return aborts the commit right there, as a crash would: nothing
// after the point happens, and the store refuses further commits.
var testHook func(point string) error

const (
	hookBeforeRedo  = "before-redo"  // nothing written yet
	hookRedoChunk   = "redo-chunk"   // a chunk transaction committed, no marker yet
	hookAfterRedo   = "after-redo"   // marker, m/height, m/root durable
	hookMidApply    = "mid-apply"    // part of the changeset applied
	hookAfterApply  = "after-apply"  // whole changeset applied, redo entry still there
	hookMidReplay   = "mid-replay"   // Open: part of a redo entry replayed
	hookAfterTxn    = "after-txn"    // one-transaction commit durable, not yet published
	hookMidBulk     = "mid-bulk"     // Bulk.Commit: leaves written, records not yet, no meta
	hookBulkWritten = "bulk-written" // Bulk.Commit: leaves and records written and flushed, no meta
)

func hook(point string) error {
	if testHook == nil {
		return nil
	}
	if err := testHook(point); err != nil {
		return fmt.Errorf("store: test hook %s: %w", point, err)
	}
	return nil
}
