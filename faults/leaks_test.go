package faults

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/dgraph-io/badger/v4"

	"github.com/mykeyledger/mykey/node"
)

// Nothing personal may leak: the plain account strings the storms used
// (every one starts with the run's token tag) must appear in no node's
// files, no store record, no log and no client output, in plain text, hex
// or base64; the card PIN must appear in no log and no client output.

type leakStats struct {
	files    int
	bytes    int64
	records  int64
	findings int
}

// leakScan looks for the needles.
type leakScan struct {
	needles []needle
	pin     *regexp.Regexp
	stats   leakStats
	found   []string // "<where>: <what>"
}

type needle struct {
	what string
	b    []byte
}

// newLeakScan looks for tag (the start of every account string) and, in
// logs and outputs, for pin standing alone.
func newLeakScan(tag, pin string) *leakScan {
	l := &leakScan{}
	add := func(what, s string) {
		if s != "" {
			l.needles = append(l.needles, needle{what, []byte(s)})
		}
	}
	add("an account string", tag)
	add("an account string (lower case)", strings.ToLower(tag))
	add("an account string (hex)", hex.EncodeToString([]byte(tag)))
	add("an account string (hex)", strings.ToUpper(hex.EncodeToString([]byte(tag))))
	for k := range 3 { // base64 of the tag at each alignment, complete groups only
		rest := []byte(tag[k:])
		n := len(rest) / 3 * 4
		add("an account string (base64)", base64.StdEncoding.EncodeToString(rest)[:n])
		add("an account string (base64url)", base64.URLEncoding.EncodeToString(rest)[:n])
	}
	// The PIN as a token of its own: not inside a longer number, a hex
	// string or a decimal fraction.
	l.pin = regexp.MustCompile(`(?:^|[^0-9A-Za-z.])` + regexp.QuoteMeta(pin) + `(?:[^0-9A-Za-z.]|$)`)
	return l
}

func (l *leakScan) finding(where, what string) {
	l.stats.findings++
	if len(l.found) < 50 {
		l.found = append(l.found, where+": "+what)
	}
}

// scanBytes looks for the needles (and the PIN if pin) in bz.
func (l *leakScan) scanBytes(where string, bz []byte, pin bool) {
	for _, n := range l.needles {
		if bytes.Contains(bz, n.b) {
			l.finding(where, "contains "+n.what)
			return
		}
	}
	if pin && l.pin.Match(bz) {
		l.finding(where, "contains the card PIN")
	}
}

// scanTree scans every regular file under root, in chunks that overlap
// by more than the longest needle.
func (l *leakScan) scanTree(tb testing.TB, root string, pin bool) {
	tb.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return l.scanFile(path, pin)
	})
	if err != nil {
		tb.Fatalf("faults: leak scan of %s: %v", root, err)
	}
}

func (l *leakScan) scanFile(path string, pin bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	l.stats.files++
	const chunk, overlap = 4 << 20, 256
	buf := make([]byte, chunk+overlap)
	keep := 0
	for {
		n, err := io.ReadFull(f, buf[keep:])
		l.stats.bytes += int64(n)
		if n > 0 {
			before := l.stats.findings
			l.scanBytes(path, buf[:keep+n], pin)
			if l.stats.findings > before {
				return nil // one finding per file is enough
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		keep = copy(buf, buf[keep+n-overlap:keep+n])
	}
}

// scanStores reads every record of a stopped node's stores: the app's
// Badger store and CometBFT's databases. Their files are compressed, so
// a byte scan alone could miss a record.
func (l *leakScan) scanStores(tb testing.TB, home string) {
	tb.Helper()
	c, err := node.LoadConfig(home)
	if err != nil {
		tb.Fatalf("faults: %v", err)
	}
	// Pebble reports the logs it replays on the standard logger.
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	l.scanBadger(tb, c.AppStatePath())
	dbs, err := filepath.Glob(filepath.Join(c.Comet.DBDir(), "*.db"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, dir := range dbs {
		l.scanCometDB(tb, c.Comet, strings.TrimSuffix(filepath.Base(dir), ".db"))
	}
}

func (l *leakScan) scanBadger(tb testing.TB, dir string) {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithReadOnly(true).WithLogger(nil))
	if err != nil {
		tb.Fatalf("faults: leak scan: open %s: %v", dir, err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.AllVersions = true
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			l.stats.records++
			where := fmt.Sprintf("%s (Badger record %q)", dir, printable(item.Key()))
			l.scanBytes(where, item.Key(), false)
			if err := item.Value(func(v []byte) error { l.scanBytes(where, v, false); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("faults: leak scan of %s: %v", dir, err)
	}
}

func (l *leakScan) scanCometDB(tb testing.TB, c *cfg.Config, name string) {
	tb.Helper()
	db, err := cfg.DefaultDBProvider(&cfg.DBContext{ID: name, Config: c})
	if err != nil {
		tb.Fatalf("faults: leak scan: open %s in %s: %v", name, c.DBDir(), err)
	}
	defer db.Close()
	it, err := db.Iterator(nil, nil)
	if err != nil {
		tb.Fatalf("faults: leak scan: %s: %v", name, err)
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		l.stats.records++
		where := fmt.Sprintf("%s (%s record %q)", filepath.Join(c.DBDir(), name+".db"), c.DBBackend, printable(it.Key()))
		l.scanBytes(where, it.Key(), false)
		l.scanBytes(where, it.Value(), false)
	}
	if err := it.Error(); err != nil {
		tb.Fatalf("faults: leak scan: %s: %v", name, err)
	}
}

// printable shows a store key in an error message.
func printable(k []byte) string {
	if len(k) > 48 {
		k = k[:48]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '.'
		}
		return r
	}, string(k))
}

// report fails tb once per finding, naming the file.
func (l *leakScan) report(tb testing.TB) {
	tb.Helper()
	for _, f := range l.found {
		tb.Errorf("leak: %s", f)
	}
	if n := l.stats.findings - len(l.found); n > 0 {
		tb.Errorf("leak: %d more findings", n)
	}
}
