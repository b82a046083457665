package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Part of every storm goes through the real client, `mykey link` with a
// card file and `mykey grant`, as a citizen at a kiosk and a provider's
// batch job would run it. Its stdout and stderr are kept as files: client
// output that the leak scan reads.

// cliPIN is the PIN of the suite's card files: a 4-digit string that no
// log line has a reason to contain, so that finding it means it leaked.
const cliPIN = "0417"

// cliTimeout bounds each command's wait for its block; it outlasts every
// fault, so a command sent to a cut-off node normally sees its outcome.
const cliTimeout = 100 * time.Second

// cliRun is one run of the mykey command.
type cliRun struct {
	name   string // file stem of its outputs in the client directory
	args   []string
	exit   int
	stdout []byte
	err    error // could not run at all
}

// cliLinkOut is what `mykey link --json` prints (client/cli.LinkJSON).
type cliLinkOut struct {
	MyKeyID string `json:"mykey_id"`
	Height  int64  `json:"height"`
	Code    uint32 `json:"code"`
	Outcome string `json:"outcome"`
	Stage   string `json:"stage"`
	TxHash  string `json:"tx_hash"`
}

// cliGrantOut is what `mykey grant --json` prints (client/cli.GrantJSON).
type cliGrantOut struct {
	MyKeyID    string `json:"mykey_id"`
	ChargeRef  string `json:"charge_ref"`
	GrantedYen int64  `json:"granted_yen"`
	Outcome    string `json:"outcome"`
	Code       uint32 `json:"code"`
	TxHash     string `json:"tx_hash"`
}

// runCLI runs mykey with args against node i, stdin given, and keeps its
// outputs in the client directory as <name>.stdout and <name>.stderr.
func (s *suite) runCLI(name string, i int, stdin string, args ...string) *cliRun {
	r := &cliRun{name: name}
	r.args = append([]string{"--node", s.c.nw.Nodes[i].RPC, "--json", "--timeout", cliTimeout.String()}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.c.mykey, r.args...)
	cmd.Stdin = strings.NewReader(stdin)
	// Only what the command needs; no MYKEY_* from the caller's shell.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.clientDir}
	stdout, err := os.Create(filepath.Join(s.clientDir, name+".stdout"))
	if err != nil {
		r.err = err
		return r
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(s.clientDir, name+".stderr"))
	if err != nil {
		r.err = err
		return r
	}
	defer stderr.Close()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &teeWriter{stdout, &out}, stderr
	err = cmd.Run()
	r.stdout = []byte(out.String())
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	case err != nil:
		r.err = err
		r.exit = -1
	}
	return r
}

type teeWriter struct {
	f *os.File
	b *strings.Builder
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.b.Write(p)
	return w.f.Write(p)
}

// cardFile writes a card file for the card with the suite's PIN.
func (s *suite) cardFile(card *testca.Card, name string) (string, error) {
	// Not with the client outputs: a card file holds its PIN, as a card does.
	path := filepath.Join(s.c.dir, "cards", name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return path, cardfile.Create(path, &cardfile.Card{
		Certificate: card.CertDER, CACertificate: s.c.ca.Cert.Raw, Key: card.Key,
		PIN: cliPIN, TriesLeft: cardfile.AuthPINTries, SignTriesLeft: cardfile.SignPINTries,
	})
}

// cliLink runs `mykey link` for the claim through node i and records its
// outcome in the claim.
func (s *suite) cliLink(cl *claim, i int, name string) {
	path, err := s.cardFile(cl.card, name)
	if err != nil {
		s.c.t.Errorf("faults: card file: %v", err)
		cl.unknown = true
		return
	}
	r := s.runCLI(name, i, cliPIN+"\n", "link", "--card", "file:"+path, "--pin-stdin", "--card-wait", "0",
		"--program", program, "--provider", cl.provider, "--account", cl.token)
	cl.cli = r
	s.book.addCLI(r)
	var out cliLinkOut
	switch {
	case r.err != nil || json.Unmarshal(r.stdout, &out) != nil:
		cl.unknown = true // no result printed: it may or may not be committed
	case out.Code == 0 && out.Stage == "block":
		cl.accepted, cl.mykey = true, out.MyKeyID
	case out.Stage == "":
		cl.unknown = true
	}
}

// cliGrant runs `mykey grant` for one charge through node i.
func (s *suite) cliGrant(ch *chargeSent, i int, name string) {
	r := s.runCLI(name, i, "", "grant", "--key", s.c.lay.ProviderKeys[ch.provider], "--program", program,
		"--mykey", ch.mykey, "--charge-ref", ch.ref, "--amount", strconv.FormatInt(ch.amount, 10))
	ch.cli = r
	s.book.addCLI(r, ch)
	var out cliGrantOut
	if r.err != nil || json.Unmarshal(r.stdout, &out) != nil {
		ch.unknown = true
		return
	}
	ch.code, ch.txHash = out.Code, out.TxHash
	if out.Outcome == "granted" && out.Code == 0 && out.GrantedYen > 0 {
		ch.accepted, ch.granted = true, out.GrantedYen
	}
}

func (r *cliRun) String() string {
	return fmt.Sprintf("mykey %s: exit %d", strings.Join(r.args, " "), r.exit)
}
