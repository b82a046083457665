package store

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

var errCrash = errors.New("simulated crash")

// crashAt makes Commit (or Open's replay) stop at point, as a crash would.
// nth counts occurrences (1 = the first).
func crashAt(t *testing.T, point string, nth int) {
	t.Helper()
	seen := 0
	testHook = func(p string) error {
		if p == point {
			seen++
			if seen == nth {
				return errCrash
			}
		}
		return nil
	}
	t.Cleanup(func() { testHook = nil })
}

type crashCase struct {
	point    string
	nth      int
	newState bool // after recovery the new block is committed
	redo     bool // force the redo log (the block would fit one transaction)
	multiTxn bool // force the multi-transaction redo path
}

var crashCases = []crashCase{
	{point: hookBeforeRedo, nth: 1, newState: false},
	{point: hookAfterTxn, nth: 1, newState: true},
	{point: hookBeforeRedo, nth: 1, newState: false, redo: true},
	{point: hookRedoChunk, nth: 1, newState: false, multiTxn: true},
	{point: hookRedoChunk, nth: 3, newState: false, multiTxn: true},
	{point: hookAfterRedo, nth: 1, newState: true, redo: true},
	{point: hookAfterRedo, nth: 1, newState: true, multiTxn: true},
	{point: hookMidApply, nth: 1, newState: true, redo: true},
	{point: hookMidApply, nth: 1, newState: true, multiTxn: true},
	{point: hookAfterApply, nth: 1, newState: true, redo: true},
}

func crashName(c crashCase) string {
	n := c.point + "#" + strconv.Itoa(c.nth)
	if c.multiTxn {
		n += "/multi-txn"
	} else if c.redo {
		n += "/redo"
	}
	return n
}

// forceRedo makes s commit through the redo log as c says.
func forceRedo(s *Store, c crashCase) {
	if c.multiTxn {
		s.redoTxnLimit = 2
	} else if c.redo {
		s.forceRedo = true
	}
}

// crashOptions makes chunks small so that a block has many of them.
func crashOptions(multi bool) Options {
	if multi {
		return Options{RedoChunkSize: 16 << 10}
	}
	return Options{}
}

// crashBlocks returns the block committed before the crash and the one
// being committed during it (updates, deletes and inserts).
func crashBlocks() (block, block) {
	var b1, b2 block
	for i := 0; i < 3000; i++ {
		b1 = append(b1, change{key: testKey(i), value: testValue(i, 1, 100), weight: uint64(i)})
	}
	for i := 0; i < 4000; i += 2 {
		if i%6 == 0 {
			b2 = append(b2, change{key: testKey(i), del: true})
		} else {
			b2 = append(b2, change{key: testKey(i), value: testValue(i, 2, 150), weight: 3})
		}
	}
	return b1, b2
}

func TestCrashRecovery(t *testing.T) {
	b1, b2 := crashBlocks()
	// Reference roots from an in-memory store.
	ref := openMem(t)
	root1 := commitBlock(t, ref, b1, 1)
	root2 := commitBlock(t, ref, b2, 2)
	m1 := model{}
	m1.apply(b1)
	m2 := m1.clone()
	m2.apply(b2)

	for _, c := range crashCases {
		t.Run(crashName(c), func(t *testing.T) {
			dir := t.TempDir()
			s := openDisk(t, dir, crashOptions(c.multiTxn))
			forceRedo(s, c)
			commitBlock(t, s, b1, 1)

			crashAt(t, c.point, c.nth)
			st := s.Stage()
			stageBlock(t, st, b2)
			if err := s.Commit(st, 2); !errors.Is(err, errCrash) {
				t.Fatalf("commit: %v, want simulated crash", err)
			}
			testHook = nil
			// A store whose commit died refuses more commits.
			if err := s.Commit(s.Stage(), 3); err == nil {
				t.Fatal("commit after a failed commit")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = openDisk(t, dir, crashOptions(c.multiTxn))
			wantH, wantRoot, wantM := int64(1), root1, m1
			if c.newState {
				wantH, wantRoot, wantM = 2, root2, m2
			}
			if s.Height() != wantH || !bytes.Equal(s.AppHash(), wantRoot) {
				t.Fatalf("recovered height %d root %x, want %d %x", s.Height(), s.AppHash(), wantH, wantRoot)
			}
			checkModel(t, s, wantM)
			checkTrieNodes(t, s)
			if n := len(rawKeys(t, s, prefixRedo)); n != 0 {
				t.Fatalf("%d redo keys left after recovery", n)
			}
			// The recovered store carries on.
			b3 := genBlocks(9, 1, 300, 4000)[0]
			r3 := commitBlock(t, s, b3, wantH+1)
			r := openMem(t)
			commitBlock(t, r, b1, 1)
			if c.newState {
				commitBlock(t, r, b2, 2)
			}
			if !bytes.Equal(r3, commitBlock(t, r, b3, wantH+1)) {
				t.Fatal("root diverges after recovery")
			}
		})
	}
}

// A crash during Open's replay is recovered by the next Open.
func TestCrashDuringReplay(t *testing.T) {
	b1, b2 := crashBlocks()
	ref := openMem(t)
	commitBlock(t, ref, b1, 1)
	root2 := commitBlock(t, ref, b2, 2)

	dir := t.TempDir()
	s := openDisk(t, dir, crashOptions(true))
	s.forceRedo = true
	commitBlock(t, s, b1, 1)
	crashAt(t, hookAfterRedo, 1)
	st := s.Stage()
	stageBlock(t, st, b2)
	if err := s.Commit(st, 2); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	_ = s.Close()

	crashAt(t, hookMidReplay, 2) // inside the second chunk
	if _, err := Open(dir, crashOptions(true)); !errors.Is(err, errCrash) {
		t.Fatalf("open: %v, want simulated crash", err)
	}
	testHook = nil
	s = openDisk(t, dir, crashOptions(true))
	if s.Height() != 2 || !bytes.Equal(s.AppHash(), root2) {
		t.Fatalf("height %d root %x", s.Height(), s.AppHash())
	}
	m := model{}
	m.apply(b1)
	m.apply(b2)
	checkModel(t, s, m)
	checkTrieNodes(t, s)
}

// Real crashes: a child process commits block 1, then dies with os.Exit in
// the middle of committing block 2, without closing Badger.
func TestCrashSubprocess(t *testing.T) {
	if dir := os.Getenv("STORE_CRASH_DIR"); dir != "" {
		crashChild(dir, os.Getenv("STORE_CRASH_POINT"), crashCase{
			multiTxn: os.Getenv("STORE_CRASH_MULTI") == "1",
			redo:     os.Getenv("STORE_CRASH_REDO") == "1",
		})
		return
	}
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	b1, b2 := crashBlocks()
	ref := openMem(t)
	root1 := commitBlock(t, ref, b1, 1)
	root2 := commitBlock(t, ref, b2, 2)
	for _, c := range []crashCase{
		{point: hookBeforeRedo, nth: 1},
		{point: hookAfterTxn, nth: 1, newState: true},
		{point: hookRedoChunk, nth: 2, multiTxn: true},
		{point: hookAfterRedo, nth: 1, newState: true, redo: true},
		{point: hookMidApply, nth: 1, newState: true, redo: true},
		{point: hookAfterApply, nth: 1, newState: true, redo: true},
		{point: hookMidBulk, nth: 1},
		{point: hookBulkWritten, nth: 1},
	} {
		t.Run(crashName(c), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSubprocess$")
			multi, redo := "0", "0"
			if c.multiTxn {
				multi = "1"
			}
			if c.redo {
				redo = "1"
			}
			cmd.Env = append(os.Environ(), "STORE_CRASH_DIR="+dir, "STORE_CRASH_POINT="+c.point, "STORE_CRASH_MULTI="+multi, "STORE_CRASH_REDO="+redo)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 7 {
				t.Fatalf("child: %v\n%s", err, out)
			}
			s := openDisk(t, dir, crashOptions(c.multiTxn))
			want := root1
			if c.newState {
				want = root2
			}
			m := model{}
			m.apply(b1)
			if c.newState {
				m.apply(b2)
			}
			if c.point == hookMidBulk || c.point == hookBulkWritten { // b1 was being bulk loaded: nothing committed
				want, m = emptyRoot(), model{}
			}
			if !bytes.Equal(s.AppHash(), want) {
				t.Fatalf("recovered root %x (height %d), want %x", s.AppHash(), s.Height(), want)
			}
			checkModel(t, s, m)
			checkTrieNodes(t, s)
		})
	}
}

func crashChild(dir, point string, c crashCase) {
	b1, b2 := crashBlocks()
	s, err := Open(dir, crashOptions(c.multiTxn))
	if err != nil {
		os.Exit(2)
	}
	forceRedo(s, c)
	die := func(p string) error {
		if p == point {
			os.Exit(7) // no Close, no deferred functions
		}
		return nil
	}
	if point == hookMidBulk || point == hookBulkWritten {
		testHook = die
		err := s.ImportRecords(1, nil, func(set func(k, v []byte, w uint64) error) error {
			for _, ch := range b1 {
				if err := set(ch.key, ch.value, ch.weight); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			os.Exit(3)
		}
		os.Exit(4)
	}
	for h, b := range []block{b1, b2} {
		if h == 1 {
			n := 0
			testHook = func(p string) error {
				if p == point {
					if n++; n == 2 || point != hookRedoChunk {
						os.Exit(7) // no Close, no deferred functions
					}
				}
				return nil
			}
		}
		st := s.Stage()
		for _, c := range b {
			if c.del {
				_ = st.Delete(c.key)
			} else {
				_ = st.Set(c.key, c.value, c.weight)
			}
		}
		if err := s.Commit(st, int64(h+1)); err != nil {
			os.Exit(3)
		}
	}
	os.Exit(4) // the crash point was never reached
}
