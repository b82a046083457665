package cardfile_test

import (
	"bytes"
	"errors"
	"fmt"
	. "github.com/mykeyledger/mykey/internal/cardfile"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testca"
)

var (
	fixtureOnce sync.Once
	fixture     *Card
)

// testCard returns a fresh copy of a valid card (one CA and key per process).
func testCard(t testing.TB) *Card {
	t.Helper()
	fixtureOnce.Do(func() {
		ca, err := testca.NewCA(testca.CAOptions{})
		if err != nil {
			panic(err)
		}
		c, err := ca.Issue(testca.CardOptions{})
		if err != nil {
			panic(err)
		}
		fixture = &Card{
			Certificate:   c.CertDER,
			CACertificate: ca.Cert.Raw,
			Key:           c.Key,
			PIN:           "1234",
			TriesLeft:     AuthPINTries,
		}
	})
	return fixture.Clone()
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c := testCard(t)
	c.TriesLeft = 2
	c.Signatures = 7
	if err := Create(path, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Certificate, c.Certificate) || !bytes.Equal(got.CACertificate, c.CACertificate) ||
		!got.Key.Equal(c.Key) || got.PIN != "1234" || got.TriesLeft != 2 || got.Signatures != 7 {
		t.Errorf("loaded card differs: %+v", got)
	}
	if err := Create(path, c); !errors.Is(err, ErrExists) {
		t.Errorf("Create over an existing file: %v, want ErrExists", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries after Create, want just the card", len(entries))
	}
}

func TestRoundTripSigningSide(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c := testCard(t)
	c.SignCertificate, c.SignKey, c.SignPIN, c.SignTriesLeft = c.Certificate, c.Key, "ABC123", SignPINTries
	c.SignCACertificate = c.CACertificate
	c.TokenInfo = bytes.Repeat([]byte{'x'}, TokenInfoSize)
	if err := Create(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.SignPIN != "ABC123" || got.SignTriesLeft != SignPINTries || got.SignKey == nil || !bytes.Equal(got.TokenInfo, c.TokenInfo) {
		t.Errorf("signing side lost: %+v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := Encode(testCard(t))
	if err != nil {
		t.Fatal(err)
	}
	other := testCard(t)
	other.TriesLeft = 9
	tests := []struct {
		name    string
		content []byte // nil: no file
		want    error
	}{
		{"missing", nil, ErrNotFound},
		{"empty", []byte{}, ErrNotCardFile},
		{"text", []byte("hello\n"), ErrNotCardFile},
		{"other json", []byte(`{"type":"mykey-ed25519","role":"provider"}`), ErrNotCardFile},
		{"truncated", good[:len(good)/2], ErrDamaged},
		{"one byte flipped in the key", bytes.Replace(good, []byte(`"key":"MII`), []byte(`"key":"MIJ`), 1), ErrDamaged},
		{"trailing data", append(append([]byte(nil), good...), []byte("{}")...), ErrDamaged},
		{"tries out of range", bytes.Replace(good, []byte(`"tries_left":3`), []byte(`"tries_left":9`), 1), ErrDamaged},
		{"bad pin", bytes.Replace(good, []byte(`"pin":"1234"`), []byte(`"pin":"12a4"`), 1), ErrDamaged},
		{"version", bytes.Replace(good, []byte(`"version":1`), []byte(`"version":2`), 1), ErrDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if tt.content != nil {
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(path)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load: %v, want %v", err, tt.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(path)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	if err := Create(path, testCard(t)); err != nil {
		t.Fatal(err)
	}
	if err := Update(path, func(c *Card) error { c.TriesLeft--; return nil }); err != nil {
		t.Fatal(err)
	}
	if c, _ := Load(path); c.TriesLeft != 2 {
		t.Fatalf("tries left %d after Update, want 2", c.TriesLeft)
	}

	before, _ := os.ReadFile(path)
	boom := errors.New("boom")
	if err := Update(path, func(c *Card) error { c.TriesLeft = 0; return boom }); err != boom {
		t.Errorf("Update returned %v, want fn's error unchanged", err)
	}
	if err := Update(path, func(c *Card) error { c.TriesLeft = 42; return nil }); err == nil {
		t.Error("Update stored an invalid card")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a failed Update changed the file")
	}
	if err := Update(filepath.Join(t.TempDir(), "nope"), func(*Card) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a missing file: %v, want ErrNotFound", err)
	}
}

func TestUpdateGoroutinesSerialise(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	if err := Create(path, testCard(t)); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := Update(path, func(c *Card) error { c.Signatures++; return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Signatures != workers*each {
		t.Fatalf("counter %d after %d increments: updates were lost", c.Signatures, workers*each)
	}
}

// The helper process: increments the counter of $CARDFILE_HELPER_PATH
// $CARDFILE_HELPER_N times (forever if N is 0).
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("CARDFILE_HELPER_PATH")
	if path == "" {
		t.Skip("helper process for other tests")
	}
	n, _ := strconv.Atoi(os.Getenv("CARDFILE_HELPER_N"))
	for i := 0; n == 0 || i < n; i++ {
		if err := Update(path, func(c *Card) error { c.Signatures++; return nil }); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}

func helper(path string, n int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "CARDFILE_HELPER_PATH="+path, "CARDFILE_HELPER_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	return cmd
}

func TestUpdateProcessesSerialise(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	if err := Create(path, testCard(t)); err != nil {
		t.Fatal(err)
	}
	const procs, each = 4, 30
	var cmds []*exec.Cmd
	for range procs {
		cmd := helper(path, each)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// This process takes part too.
	for range each {
		if err := Update(path, func(c *Card) error { c.Signatures++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64((procs + 1) * each); c.Signatures != want {
		t.Fatalf("counter %d, want %d: updates from different processes were lost", c.Signatures, want)
	}
}

func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "card.json")
	if err := Create(path, testCard(t)); err != nil {
		t.Fatal(err)
	}
	// A temporary file left behind by a crash in the middle of a write.
	stray := filepath.Join(dir, ".card.json.tmp-123")
	if err := os.WriteFile(stray, []byte(`{"type":"mykey-jpki-test-card","vers`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("Load with a stray temporary file: %v", err)
	}

	// Kill a process while it updates the card as fast as it can, several
	// times: the card must always load, and the lock must be free again.
	for round := range 5 {
		cmd := helper(path, 0)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := Load(path)
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: Load while another process updates: %v", round, err)
			}
			if c.Signatures > uint64(round*3) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(round*7) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		c, err := Load(path)
		if err != nil {
			t.Fatalf("round %d: card damaged by a crash: %v", round, err)
		}
		done := make(chan error, 1)
		go func() { done <- Update(path, func(c *Card) error { c.Signatures++; return nil }) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the lock of a killed process was not released", round)
		}
		if c2, _ := Load(path); c2.Signatures != c.Signatures+1 {
			t.Fatalf("round %d: counter %d after one more update of %d", round, c2.Signatures, c.Signatures)
		}
	}
}

// A card file written before the signing tries were always kept has no
// sign_tries_left: on a card without a signing side that is a signing PIN
// never tried, not a blocked one. A blocked one (0) is written and read
// back as 0.
func TestSignTriesOfACardWithoutSigningSide(t *testing.T) {
	c := testCard(t)
	c.SignTriesLeft = 0
	bz, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decode(bz); err != nil || got.SignTriesLeft != 0 {
		t.Fatalf("a blocked signing PIN reads back as %d tries left (%v)", got.SignTriesLeft, err)
	}
	old := bytes.Replace(bz, []byte(`"sign_tries_left":0,`), nil, 1)
	if bytes.Equal(old, bz) {
		t.Fatalf("no sign_tries_left in %s", bz)
	}
	got, err := Decode(old)
	if err != nil || got.SignTriesLeft != SignPINTries {
		t.Fatalf("an older file reads %d signing tries left (%v), want %d", got.SignTriesLeft, err, SignPINTries)
	}
}
