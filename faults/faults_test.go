package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testnet"
)

// suite is one run of the fault suite on one network.
type suite struct {
	c         *cluster
	book      *book
	rep       *report
	clientDir string // client outputs: mykey's stdout and stderr, the journal
	logDir    string // container logs, collected at the end
	tokenTag  string // every account string starts with it
	tokenSeq  atomic.Int64
	checkedTo int64  // app hashes compared up to this height
	oldCopy   string // an older copy of node 1's data directory
	oldHeight int64  // the height it was taken at
	failed    bool   // a phase failed: skip the rest of the faults
	// submitted is the height of the last transaction submit saw
	// committed; the next submit waits for its node to be past it.
	submitted int64

	mu      sync.Mutex
	persons map[string]*person // by MyKey ID
}

func TestFaults(t *testing.T) {
	denv := needDocker(t)
	rep := newReport()
	c := newCluster(t, denv, rep)
	rep.run = c.project
	s := &suite{
		c: c, rep: rep, clientDir: filepath.Join(c.dir, "client"), logDir: filepath.Join(c.dir, "logs"),
		tokenTag: "MYKEYFAULTSACCOUNT" + strings.ToUpper(randID(6)),
		persons:  map[string]*person{},
	}
	for _, d := range []string{s.clientDir, s.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if s.book, err = newBook(filepath.Join(s.clientDir, "journal.jsonl")); err != nil {
		t.Fatal(err)
	}
	defer s.book.close()

	phases := []struct {
		name  string
		fault func(t *testing.T, storm func(time.Duration)) string
	}{
		{"baseline", s.baseline},
		{"partition-one", s.partitionOne},
		{"partition-two", s.partitionTwo},
		{"sigkill", s.sigkill},
		{"pause", s.pause},
		{"rolling-restart", s.rollingRestart},
		{"restore-disk", s.restoreDisk},
	}
	for _, ph := range phases {
		if s.failed {
			break
		}
		s.phase(t, ph.name, ph.fault)
	}
	if !s.failed {
		s.failed = !t.Run("hostile-input", s.hostile)
	}
	t.Run("shutdown", s.shutdown)
	t.Run("leaks", s.leaks)
	rep.print(t, s.book)
}

// phase runs one fault with its storm, heals it, and checks everything.
func (s *suite) phase(t *testing.T, name string, fault func(t *testing.T, storm func(time.Duration)) string) {
	start := time.Now()
	h0 := maxOf(s.c.heights())
	pr := phaseReport{name: name}
	ok := t.Run(name, func(t *testing.T) {
		var waits []func()
		storm := func(spread time.Duration) { waits = append(waits, s.storm(t, name, spread)) }
		pr.note = fault(t, storm)
		for _, w := range waits {
			w()
		}
		s.c.drain(t)
		s.resolve(t, 0)
		// The first grant for everyone linked in this phase.
		fresh := s.refreshPersons(t, name)
		s.firstGrants(t, name, fresh)()
		s.c.drain(t)
		s.resolve(t, 0)
		s.check(t)
	})
	pr.took, pr.failed = time.Since(start), !ok
	pr.blocks = maxOf(s.c.heights()) - h0
	s.rep.add(func(r *report) { r.phases = append(r.phases, pr) })
	s.failed = s.failed || !ok
}

// check runs the checks of a healed network.
func (s *suite) check(t *testing.T) {
	t.Helper()
	s.c.waitBlocks(t, 2)
	s.checkAppHashes(t)
	ds := s.dumpAll(t)
	s.checkLedger(t, ds[0])
	stall := s.c.live.check(t)
	s.rep.add(func(r *report) { r.longestStall = stall })
}

// ---- the faults; each returns a note for the report ----

// blocksWithout takes node i out with off, starts a storm spread over
// 8 s, waits hold, brings the node back with on and returns how many
// blocks the other nodes made meanwhile.
func (s *suite) blocksWithout(t *testing.T, storm func(time.Duration), i int, hold time.Duration, off, on func(testing.TB, int)) int64 {
	off(t, i)
	h := maxOf(s.c.heights())
	storm(8 * time.Second)
	time.Sleep(hold)
	made := maxOf(s.c.heights()) - h
	on(t, i)
	return made
}

func (s *suite) baseline(t *testing.T, storm func(time.Duration)) string {
	storm(3 * time.Second)
	return "no fault: the storm on a whole network"
}

func (s *suite) partitionOne(t *testing.T, storm func(time.Duration)) string {
	made := s.blocksWithout(t, storm, 3, 12*time.Second, s.c.disconnect, s.c.connect)
	return fmt.Sprintf("node 3 cut off for 12 s: the other three made %d blocks", made)
}

func (s *suite) partitionTwo(t *testing.T, storm func(time.Duration)) string {
	c := s.c
	c.disconnect(t, 2)
	c.disconnect(t, 3)
	time.Sleep(3 * time.Second) // a round under way may still finish
	h1 := maxOf(c.heights())
	storm(5 * time.Second)
	time.Sleep(8 * time.Second)
	h2 := maxOf(c.heights())
	if h2 != h1 {
		t.Errorf("the network committed %d blocks with 2 of 4 validators connected (height %d to %d)", h2-h1, h1, h2)
		s.rep.add(func(r *report) { r.noQuorumBlocks += h2 - h1 })
	}
	healed := time.Now()
	c.connect(t, 2)
	testnet.WaitFor(t, 30*time.Second, "blocks with 3 of 4 validators connected again", func() bool { return maxOf(c.heights()) >= h2+2 })
	resumed := time.Since(healed)
	c.connect(t, 3)
	return fmt.Sprintf("nodes 2 and 3 cut off: no block for 8 s; blocks again %.1f s after node 2 returned", resumed.Seconds())
}

func (s *suite) sigkill(t *testing.T, storm func(time.Duration)) string {
	c := s.c
	storm(8 * time.Second)
	time.Sleep(2 * time.Second)
	s.oldHeight = c.height(1)
	c.kill(t, 1)
	time.Sleep(6 * time.Second)
	// Keep a copy of the dead node's data for the restore phase: what a
	// backup of a crashed machine holds.
	s.oldCopy = filepath.Join(s.c.dir, "node1-data-copy")
	if _, err := run(2*time.Minute, "cp", "-a", filepath.Join(c.lay.Nodes[1].Home, "data"), s.oldCopy); err != nil {
		t.Fatalf("faults: copying node 1's data: %v", err)
	}
	c.start(t, 1)
	return "node 1 killed mid-storm, its data copied, restarted"
}

func (s *suite) pause(t *testing.T, storm func(time.Duration)) string {
	made := s.blocksWithout(t, storm, 2, 10*time.Second, s.c.pause, s.c.unpause)
	return fmt.Sprintf("node 2 frozen for 10 s: the other three made %d blocks", made)
}

func (s *suite) rollingRestart(t *testing.T, storm func(time.Duration)) string {
	c := s.c
	storm(25 * time.Second)
	for i := range validators {
		c.stop(t, i)
		c.fault("rolling restart: SIGTERM of node %d", i)
		time.Sleep(time.Second)
		c.start(t, i)
	}
	return "each node stopped (clean exit) and restarted in turn"
}

func (s *suite) restoreDisk(t *testing.T, storm func(time.Duration)) string {
	c := s.c
	if s.oldCopy == "" {
		t.Fatal("faults: no copy of node 1's data (the sigkill phase did not run)")
	}
	c.stop(t, 1)
	data := filepath.Join(c.lay.Nodes[1].Home, "data")
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.oldCopy, data); err != nil {
		t.Fatal(err)
	}
	s.oldCopy = ""
	top := maxOf(c.heights())
	c.fault("node 1's data directory restored from a copy %d blocks old", top-s.oldHeight)
	storm(6 * time.Second)
	c.docker(t, "start", c.container(1))
	var from int64
	testnet.WaitFor(t, 60*time.Second, "node 1 to answer after the restore", func() bool {
		from = c.height(1)
		return from > 0
	})
	if from >= top {
		t.Errorf("node 1 restarted at height %d, not behind the network's %d: the restore did not take", from, top)
	}
	c.waitRejoin(t, 1)
	return fmt.Sprintf("node 1 restarted from height %d while the network was at %d, and caught up", from, top)
}

// shutdown checks the network a last time, stops every node with SIGTERM
// (each must exit cleanly) and keeps the containers' logs.
func (s *suite) shutdown(t *testing.T) {
	c := s.c
	if !s.failed {
		c.drain(t)
		s.resolve(t, 0)
		s.check(t)
	}
	c.live.stop()
	if s.failed {
		// Undo whatever fault was on, so that every node can stop cleanly.
		for i := range validators {
			_, _ = run(time.Minute, "docker", "unpause", c.container(i))
			_, _ = run(time.Minute, "docker", "network", "connect", "--ip", c.nw.Nodes[i].P2PIP, c.nw.P2PNetwork, c.container(i))
			_, _ = run(time.Minute, "docker", "start", c.container(i)) // a killed node, so that it closes its stores
		}
		time.Sleep(10 * time.Second)
	}
	for i := range validators {
		if st := c.docker(t, "inspect", "--format", "{{.State.Status}}", c.container(i)); st == "running" {
			c.stop(t, i)
		}
	}
	for i := range validators {
		f, err := os.Create(filepath.Join(s.logDir, c.container(i)+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := []string{"logs", c.container(i)}
		out, err := run(2*time.Minute, "docker", cmd...)
		if err != nil {
			t.Errorf("faults: %v", err)
		}
		_, _ = f.WriteString(out)
		f.Close()
	}
}

// leaks scans every node's home, the container logs and the client
// outputs.
func (s *suite) leaks(t *testing.T) {
	l := newLeakScan(s.tokenTag, cliPIN)
	for _, n := range s.c.lay.Nodes {
		l.scanTree(t, n.Home, false)
		l.scanStores(t, n.Home)
	}
	l.scanTree(t, s.logDir, true)
	l.scanTree(t, s.clientDir, true)
	l.report(t)
	s.rep.add(func(r *report) { r.leak = l.stats })
	if l.stats.files == 0 || l.stats.records == 0 {
		t.Errorf("leak scan read %d files and %d records: nothing scanned", l.stats.files, l.stats.records)
	}
}
