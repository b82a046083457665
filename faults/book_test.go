package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/internal/testca"
)

// The book is the clients' side of the story: every transaction the
// storms sent, where, what the node answered, and its fate. The checks
// hold the ledger against it.

func txHash(tx []byte) []byte { return rpc.TxHash(tx) }

// sentTx is one transaction sent to one node.
type sentTx struct {
	phase string
	kind  string // "link" or "grant"
	node  int
	bz    []byte
	hash  string // upper-case hex, as CometBFT names it

	// What the node answered.
	sendErr   error
	inCache   bool   // the node already had these bytes
	checkCode uint32 // CheckTx refused it with this code

	// Its fate, once resolved.
	resolved  bool
	committed bool
	height    int64
	code      uint32
	items     []rpc.Item

	claim   *claim
	charges []*chargeSent
}

// claimGroup is a set of claims of which at most one may be accepted:
// the same card to several providers ("card"), or several cards to one
// provider account ("account").
type claimGroup struct {
	key    string
	kind   string // "card" or "account"
	phase  string
	claims []*claim
}

// claim is one link attempt.
type claim struct {
	group      *claimGroup
	card       *testca.Card
	fp         string // the certificate's index on the ledger (its cert/ key)
	provider   string
	token      string // the plain account string (never sent)
	commitment []byte
	via        string // "rpc" or "cli"
	tx         *sentTx
	cli        *cliRun

	// Outcome as the client saw it.
	accepted bool
	unknown  bool // the client could not tell (e.g. it gave up waiting)
	mykey    string
}

// chargeSent is one charge in one transaction (or one `mykey grant`).
type chargeSent struct {
	phase    string
	provider string
	mykey    string
	ref      string
	amount   int64
	tx       *sentTx
	cli      *cliRun
	kind     string // "race", "big", "replay", "first", "cli"

	accepted bool
	unknown  bool
	granted  int64
	code     uint32
	txHash   string // the transaction that carried it, when known
}

// book records everything the storms did; safe for concurrent use.
type book struct {
	mu      sync.Mutex
	txs     []*sentTx
	groups  []*claimGroup
	charges []*chargeSent
	clis    []*cliRun
	journal *os.File // one JSON line per resolved transaction: a client output
}

func newBook(journalPath string) (*book, error) {
	f, err := os.Create(journalPath)
	if err != nil {
		return nil, err
	}
	return &book{journal: f}, nil
}

func (b *book) close() { b.journal.Close() }

func (b *book) addTx(tx *sentTx) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txs = append(b.txs, tx)
	b.charges = append(b.charges, tx.charges...)
}

func (b *book) addGroup(g *claimGroup) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.groups = append(b.groups, g)
}

func (b *book) addCLI(r *cliRun, charges ...*chargeSent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clis = append(b.clis, r)
	b.charges = append(b.charges, charges...)
}

// send broadcasts tx to node i and records the answer. It returns at once
// if the node does not answer in time (a paused or cut-off node): the
// transaction may still reach the mempool later, and its fate is resolved
// after the fault heals.
func (s *suite) send(tx *sentTx) {
	tx.hash = hexHash(tx.bz)
	ctx, cancel := ctxT(4 * time.Second)
	defer cancel()
	res, err := s.c.nodes[tx.node].Broadcast(ctx, tx.bz)
	switch {
	case errors.Is(err, rpc.ErrInCache):
		tx.inCache = true
	case err != nil:
		tx.sendErr = err
	case res.Code != 0:
		tx.checkCode = res.Code
	}
	s.book.addTx(tx)
}

// resolve finds the fate of every transaction not yet resolved: in a
// block (as node i indexed it) or not. Call it once the mempools are
// empty, so that nothing unresolved can still be committed.
func (s *suite) resolve(tb testing.TB, i int) {
	tb.Helper()
	s.book.mu.Lock()
	var todo []*sentTx
	for _, tx := range s.book.txs {
		if !tx.resolved {
			todo = append(todo, tx)
		}
	}
	s.book.mu.Unlock()

	// One look-up per distinct transaction.
	byHash := map[string][]*sentTx{}
	var hashes []string
	for _, tx := range todo {
		if byHash[tx.hash] == nil {
			hashes = append(hashes, tx.hash)
		}
		byHash[tx.hash] = append(byHash[tx.hash], tx)
	}
	type answer struct {
		c   *rpc.Committed
		err error
	}
	answers := make([]answer, len(hashes))
	parallel(len(hashes), 8, func(k int) {
		ctx, cancel := ctxT(10 * time.Second)
		defer cancel()
		answers[k].c, answers[k].err = s.c.nodes[i].Tx(ctx, txHash(byHash[hashes[k]][0].bz))
	})
	for k, h := range hashes {
		if answers[k].err != nil {
			tb.Fatalf("faults: looking up transaction %s on node %d: %v", h, i, answers[k].err)
		}
		for _, tx := range byHash[h] {
			tx.resolved = true
			if cm := answers[k].c; cm != nil {
				tx.committed, tx.height, tx.code = true, cm.Height, cm.Result.Code
				tx.items = rpc.Items(cm.Result.Events)
			}
			s.applyFate(tx)
			s.journal(tx)
		}
	}
}

// applyFate turns a transaction's fate into its claim's or charges'
// outcomes.
func (s *suite) applyFate(tx *sentTx) {
	if cl := tx.claim; cl != nil {
		for _, it := range tx.items {
			if it.Type == "link" && tx.committed {
				cl.accepted = it.Accepted()
				cl.mykey = it.Get("mykey_id")
			}
		}
	}
	for _, ch := range tx.charges {
		ch.txHash = tx.hash
		ch.code = tx.checkCode
		if !tx.committed {
			continue
		}
		ch.code = tx.code
		for _, it := range tx.items {
			if it.Type == "grant" && it.Get("charge_ref") == ch.ref {
				ch.accepted = it.Accepted()
				ch.code = it.Code()
				ch.granted = it.Int("granted_yen")
			}
		}
	}
}

// journalLine is one resolved transaction in the journal.
type journalLine struct {
	Phase     string     `json:"phase"`
	Kind      string     `json:"kind"`
	Node      int        `json:"node"`
	Hash      string     `json:"hash"`
	SendError string     `json:"send_error,omitempty"`
	InCache   bool       `json:"in_cache,omitempty"`
	CheckCode uint32     `json:"check_code,omitempty"`
	Committed bool       `json:"committed"`
	Height    int64      `json:"height,omitempty"`
	Code      uint32     `json:"code"`
	Items     []rpc.Item `json:"items,omitempty"`
}

func (s *suite) journal(tx *sentTx) {
	l := journalLine{Phase: tx.phase, Kind: tx.kind, Node: tx.node, Hash: tx.hash, InCache: tx.inCache,
		CheckCode: tx.checkCode, Committed: tx.committed, Height: tx.height, Code: tx.code, Items: tx.items}
	if tx.sendErr != nil {
		l.SendError = tx.sendErr.Error()
	}
	bz, err := json.Marshal(l)
	if err != nil {
		panic(fmt.Sprintf("faults: journal: %v", err))
	}
	s.book.mu.Lock()
	defer s.book.mu.Unlock()
	_, _ = s.book.journal.Write(append(bz, '\n'))
}
