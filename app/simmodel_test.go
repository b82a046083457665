package app

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/types"
)

// The reference model of the simulation: DESIGN.md §3 written again with
// plain Go maps, fed the same transactions in the same order as the App,
// predicting every result code and every yen granted. It calls no rule of
// the app: it decodes transactions with the generated types (the wire
// format is not a rule) and checks signatures with the standard library.
//
// Deliberate coarseness, each because the model would otherwise have to
// redo work that is not a ledger rule:
//   - MyKey IDs are opaque labels. The model predicts when one is issued
//     (and which existing one a certificate maps to), but takes the new
//     label from the App's event, checking it is well formed and new.
//   - Whether an ed25519 key is acceptable is looked up in the generator's
//     list of weak keys (small-order points, non-canonical encodings)
//     instead of doing curve arithmetic; a key of the wrong length is
//     refused by length.
//   - A certificate is judged from the generator's record of the card
//     (trusted issuer, validity period, key usage), looked up by its DER;
//     the card signature itself is verified with crypto/rsa.

// mCard is what the model knows of a test card's certificate.
type mCard struct {
	cert      *x509.Certificate
	trusted   bool
	keyUsage  bool
	notBefore time.Time
	notAfter  time.Time
}

type mProvider struct {
	grantKey, valKey []byte
	power            int64
	suspended        bool
}

type mMyKey struct {
	height     int64
	seq        uint64
	certs      []string
	programs   []string
	mergedInto string
}

type mLink struct {
	provider string
	account  string
	height   int64
	active   bool
}

type mPerson struct {
	granted, recovered int64
	attested           bool
}

type mTotals struct {
	granted, grants, linked, settled, recovered int64
}

type mCert struct {
	mykey   string
	revoked bool
}

// mItem is the model's judgement of one link, charge or action.
type mItem struct {
	code    uint32
	granted int64
}

// mResult is the model's judgement of one transaction.
type mResult struct {
	kind  string
	code  uint32
	items []mItem // nil for a rejection of the whole transaction
}

type model struct {
	chainID   string
	cards     map[string]*mCard // by certificate DER
	weakKeys  map[string]bool
	govKeys   map[string]bool
	threshold int
	nextSeq   uint64

	height int64
	now    int64

	providers  map[string]*mProvider
	valOwner   map[string]string
	vals       map[string]int64 // the validator set CometBFT uses next
	programs   map[string]*types.Program
	progTotals map[string]*mTotals
	provTotals map[[2]string]*mTotals
	daily      map[[3]string]*mTotals // program, provider, day in Japan: granted, grants
	certs      map[string]*mCert
	mykeys     map[string]*mMyKey
	issued     uint64
	links      map[[2]string]*mLink   // program, MyKey ID
	accounts   map[[3]string]string   // program, provider, commitment → MyKey ID
	persons    map[[2]string]*mPerson // program, MyKey ID
	charges    map[[3]string]bool     // program, provider, reference
	usedReqs   map[[32]byte]bool
	// judgedExp holds, per certificate, the expiries of the link
	// requests judged with it (at most MaxJudgedRequests unexpired).
	judgedExp  map[string][]int64
	overGrants map[[2]string]int64 // program, provider → yen
	// capHigh is the highest cap each program has had: a cap lowered
	// later does not take back what was granted under the higher one.
	capHigh map[string]int64
	// nodes: registered P2P node ID → owner; nodeLists: owner → its IDs.
	nodes     map[string]string
	nodeLists map[string][]string

	// The block's validator power changes, in the order first changed.
	blockValKeys []string
	blockVals    map[string]int64

	// learn returns the MyKey ID the App issued in the item-th event of
	// the transaction being judged (set for each transaction).
	learn func(item int) string
	// mismatch records a disagreement found while judging (a new ID that
	// is not new, say).
	mismatch string
}

func cloneMap[K comparable, V any](m map[K]*V) map[K]*V {
	out := make(map[K]*V, len(m))
	for k, v := range m {
		c := *v
		out[k] = &c
	}
	return out
}

// clone deep-copies the state a government action may change, so a
// rejected action can be undone whole.
func (m *model) clone() *model {
	c := *m
	c.providers = cloneMap(m.providers)
	c.valOwner = maps.Clone(m.valOwner)
	c.programs = maps.Clone(m.programs) // programs are replaced, never edited
	c.progTotals = cloneMap(m.progTotals)
	c.provTotals = cloneMap(m.provTotals)
	c.daily = cloneMap(m.daily)
	c.certs = cloneMap(m.certs)
	c.mykeys = make(map[string]*mMyKey, len(m.mykeys))
	for k, v := range m.mykeys {
		mk := *v
		mk.certs = slices.Clone(v.certs)
		mk.programs = slices.Clone(v.programs)
		c.mykeys[k] = &mk
	}
	c.links = cloneMap(m.links)
	c.accounts = maps.Clone(m.accounts)
	c.persons = cloneMap(m.persons)
	c.overGrants = maps.Clone(m.overGrants)
	c.capHigh = maps.Clone(m.capHigh)
	c.nodes = maps.Clone(m.nodes)
	c.nodeLists = maps.Clone(m.nodeLists) // lists are replaced, never edited
	c.blockValKeys = slices.Clone(m.blockValKeys)
	c.blockVals = maps.Clone(m.blockVals)
	return &c
}

// cloneAll deep-copies the whole state, for judging a CheckTx against the
// committed state without changing it.
func (m *model) cloneAll() *model {
	c := m.clone()
	c.usedReqs = maps.Clone(m.usedReqs)
	c.judgedExp = map[string][]int64{}
	for k, v := range m.judgedExp {
		c.judgedExp[k] = slices.Clone(v)
	}
	c.charges = maps.Clone(m.charges)
	return c
}

// entry is mp[k], a new zero value put there first if there is none.
func entry[K comparable, V any](mp map[K]*V, k K) *V {
	v := mp[k]
	if v == nil {
		v = new(V)
		mp[k] = v
	}
	return v
}

func (m *model) progTotal(p string) *mTotals { return entry(m.progTotals, p) }

func (m *model) provTotal(p, prov string) *mTotals { return entry(m.provTotals, [2]string{p, prov}) }

func (m *model) person(p, id string) *mPerson { return entry(m.persons, [2]string{p, id}) }

// resolve follows merges to the surviving ID ("" if unknown).
func (m *model) resolve(id string) string {
	for i := 0; i < 64; i++ {
		mk := m.mykeys[id]
		if mk == nil {
			return ""
		}
		if mk.mergedInto == "" {
			return id
		}
		id = mk.mergedInto
	}
	return ""
}

func (m *model) activeLink(p, id string) *mLink {
	l := m.links[[2]string{p, id}]
	if l == nil || !l.active {
		return nil
	}
	return l
}

// certKey names a certificate by issuer and serial as a number (leading
// zero bytes of the serial do not count).
func certKey(issuer, serial []byte) string {
	return string(issuer) + "\x00" + string(bytes.TrimLeft(serial, "\x00"))
}

// --- field rules (DESIGN §3 and the limits every transaction obeys) ---

func mValidID(s string) bool {
	if s == "" || len(s) > 32 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func mValidText(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func mValidMyKey(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", rune(s[i])) {
			return false
		}
	}
	return true
}

func (m *model) validKey(k []byte) bool { return len(k) == 32 && !m.weakKeys[string(k)] }

// mValidName: the sim's names are ASCII, so printable ASCII, not blank,
// at most 128 characters is the whole rule for them.
func mValidName(s string) bool {
	return strings.TrimSpace(s) != "" && len(s) <= 128 && mValidText(s, 128)
}

const maxUnix = 253402300799

func mValidProgram(p *types.Program) bool {
	if p == nil || !mValidID(p.Id) || !mValidName(p.Name) {
		return false
	}
	for _, v := range []int64{p.LinkStart, p.LinkEnd, p.GrantStart, p.GrantEnd} {
		if v < 0 || v > maxUnix {
			return false
		}
	}
	if p.LinkStart >= p.LinkEnd || p.GrantStart >= p.GrantEnd || p.BudgetYen <= 0 || p.BudgetYen > 1000*1_000_000_000_000 ||
		p.CapYen <= 0 || p.CapYen > 1_000_000_000_000 {
		return false
	}
	switch p.Kind {
	case types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE:
		return p.RateBp > 0 && p.RateBp <= 10000 && p.FixedYen == 0
	case types.ProgramKind_PROGRAM_KIND_FIXED:
		return p.FixedYen > 0 && p.FixedYen == p.CapYen && p.RateBp == 0
	}
	return false
}

func (m *model) validProvider(p *types.Provider) bool {
	if p == nil || !mValidID(p.Id) || !mValidName(p.Name) || !m.validKey(p.GrantKey) {
		return false
	}
	if len(p.ValidatorKey) == 0 {
		return p.Power == 0
	}
	return m.validKey(p.ValidatorKey) && p.Power > 0 && p.Power <= cmttypes.MaxTotalVotingPower
}

// --- stateless judgement ---

// static judges a transaction by its bytes, the chain and block time t
// alone: the code, or 0.
func (m *model) static(bz []byte, t int64) (*types.Tx, uint32) {
	tx, err := types.DecodeTx(bz)
	if err != nil {
		return nil, 1
	}
	switch b := tx.Body.(type) {
	case *types.Tx_Link:
		return tx, m.staticLink(b.Link, t)
	case *types.Tx_LinkBatch:
		s := b.LinkBatch
		switch {
		case s == nil || s.Batch == nil:
			return tx, 1
		case s.Batch.ChainId != m.chainID:
			return tx, 2
		case !mValidID(s.Batch.ProviderId), len(s.Batch.Links) == 0, len(s.Batch.Links) > 5000, len(s.Signature) != 64:
			return tx, 1
		}
	case *types.Tx_Grant:
		s := b.Grant
		switch {
		case s == nil || s.Grant == nil:
			return tx, 1
		case s.Grant.ChainId != m.chainID:
			return tx, 2
		case !mValidID(s.Grant.ProviderId), len(s.Grant.Charges) == 0, len(s.Grant.Charges) > 10000, len(s.Signature) != 64:
			return tx, 1
		}
		for _, ch := range s.Grant.Charges {
			if ch == nil || !mValidID(ch.ProgramId) || !mValidMyKey(ch.MykeyId) || ch.ChargeRef == "" || !mValidText(ch.ChargeRef, 64) ||
				ch.AmountYen < 0 || ch.AmountYen > 1_000_000_000_000 || ch.ChargedAt <= 0 {
				return tx, 1
			}
		}
	case *types.Tx_Gov:
		s := b.Gov
		switch {
		case s == nil || s.Action == nil || s.Action.Action == nil:
			return tx, 1
		case s.Action.ChainId != m.chainID:
			return tx, 2
		case s.Action.Size() > 1<<20:
			return tx, 25
		case len(s.Signatures) == 0 || len(s.Signatures) > 32:
			return tx, 1
		}
		seen := map[string]bool{}
		for _, sig := range s.Signatures {
			if len(sig.PublicKey) != 32 || len(sig.Signature) != 64 || seen[string(sig.PublicKey)] {
				return tx, 1
			}
			seen[string(sig.PublicKey)] = true
		}
	default:
		return tx, 1
	}
	return tx, 0
}

// staticLink judges a citizen-signed link without state.
func (m *model) staticLink(sl *types.SignedLink, t int64) uint32 {
	if sl == nil || sl.Request == nil {
		return 1
	}
	r := sl.Request
	if !mValidID(r.ProgramId) || !mValidID(r.ProviderId) || len(r.AccountCommitment) != 32 || len(r.Certificate) == 0 || r.ExpiresAt <= 0 || len(sl.Signature) == 0 {
		return 1
	}
	if r.ChainId != m.chainID {
		return 2
	}
	if r.ExpiresAt <= t {
		return 3
	}
	if r.ExpiresAt > t+7*24*3600 {
		return 1
	}
	c := m.cards[string(r.Certificate)]
	if c == nil {
		return 1 // the generator sends no certificate it did not make
	}
	at := time.Unix(t, 0)
	switch {
	case !c.trusted:
		return 5
	case at.Before(c.notBefore) || at.After(c.notAfter):
		return 6
	case !c.keyUsage:
		return 21
	}
	h := sha256.Sum256(r.SignBytes())
	if rsa.VerifyPKCS1v15(c.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sl.Signature) != nil {
		return 4
	}
	return 0
}

// --- blocks ---

// beginBlock starts judging a block at height h and time t.
func (m *model) beginBlock(h, t int64) {
	m.height, m.now = h, t
	m.blockValKeys, m.blockVals = nil, map[string]int64{}
}

// endBlock returns the validator updates the block sends and applies
// them to the model's set.
func (m *model) endBlock() []abci.ValidatorUpdate {
	ups := m.netUpdates()
	for _, u := range ups {
		if u.Power == 0 {
			delete(m.vals, string(u.PubKeyBytes))
		} else {
			m.vals[string(u.PubKeyBytes)] = u.Power
		}
	}
	return ups
}

func (m *model) netUpdates() []abci.ValidatorUpdate {
	var ups []abci.ValidatorUpdate
	for _, k := range m.blockValKeys {
		if m.blockVals[k] != m.vals[k] {
			ups = append(ups, abci.ValidatorUpdate{PubKeyBytes: []byte(k), Power: m.blockVals[k], PubKeyType: "ed25519"})
		}
	}
	return ups
}

func (m *model) setPower(k []byte, p int64) {
	if _, ok := m.blockVals[string(k)]; !ok {
		m.blockValKeys = append(m.blockValKeys, string(k))
	}
	m.blockVals[string(k)] = p
}

// valsOK tells whether CometBFT would take the block's net updates: the
// set must not become empty nor weigh more than its maximum.
func (m *model) valsOK() bool {
	set := maps.Clone(m.vals)
	for _, u := range m.netUpdates() {
		if u.Power == 0 {
			delete(set, string(u.PubKeyBytes))
		} else {
			set[string(u.PubKeyBytes)] = u.Power
		}
	}
	if len(set) == 0 {
		return false
	}
	var total int64
	for _, p := range set {
		total += p
		if total > cmttypes.MaxTotalVotingPower {
			return false
		}
	}
	return true
}

// deliver judges one transaction of a block and applies it.
func (m *model) deliver(bz []byte) mResult {
	tx, code := m.static(bz, m.now)
	if code != 0 {
		return mResult{kind: "malformed", code: code}
	}
	var r mResult
	switch b := tx.Body.(type) {
	case *types.Tx_Link:
		r = mResult{kind: "link", items: []mItem{m.linkOne(b.Link, "", 0)}}
	case *types.Tx_LinkBatch:
		r = m.linkBatch(b.LinkBatch)
	case *types.Tx_Grant:
		r = m.grant(b.Grant)
	case *types.Tx_Gov:
		r = m.gov(b.Gov)
	}
	if r.items != nil {
		r.code = summaryCode(r.items)
	}
	return r
}

// summaryCode: a transaction of several items succeeds if one does, else
// carries the first item's code.
func summaryCode(items []mItem) uint32 {
	for _, it := range items {
		if it.code == 0 {
			return 0
		}
	}
	return items[0].code
}

func (m *model) linkBatch(s *types.SignedLinkBatch) mResult {
	b := s.Batch
	p := m.providers[b.ProviderId]
	if p == nil {
		return mResult{kind: "link_batch", code: 8}
	}
	if !ed25519.Verify(p.grantKey, b.SignBytes(), s.Signature) {
		return mResult{kind: "link_batch", code: 4}
	}
	r := mResult{kind: "link_batch"}
	for i, sl := range b.Links {
		r.items = append(r.items, m.linkOne(sl, b.ProviderId, i))
	}
	return r
}

// linkOne judges one link (the i-th item of its transaction).
func (m *model) linkOne(sl *types.SignedLink, batchProvider string, i int) mItem {
	if batchProvider != "" && sl != nil && sl.Request != nil && sl.Request.ProviderId != batchProvider {
		return mItem{code: 26}
	}
	if c := m.staticLink(sl, m.now); c != 0 {
		return mItem{code: c}
	}
	req := sl.Request
	used := sha256.Sum256(req.SignBytes())
	ck := certKey(m.cards[string(req.Certificate)].cert.RawIssuer, m.cards[string(req.Certificate)].cert.SerialNumber.Bytes())
	if m.usedReqs[used] {
		// A signed request is judged once; a retry of one whose linkage
		// still stands as it made it hears already_linked.
		cr := m.certs[ck]
		if cr != nil && cr.mykey != "" {
			if l := m.activeLink(req.ProgramId, cr.mykey); l != nil && l.provider == req.ProviderId && l.account == string(req.AccountCommitment) {
				return mItem{code: 11}
			}
		}
		return mItem{code: 28}
	}
	live := slices.DeleteFunc(slices.Clone(m.judgedExp[ck]), func(exp int64) bool { return exp <= m.now })
	if len(live) >= types.MaxJudgedRequests {
		return mItem{code: 33}
	}
	m.judgedExp[ck] = append(live, req.ExpiresAt)
	m.usedReqs[used] = true
	prog := m.programs[req.ProgramId]
	if prog == nil {
		return mItem{code: 19}
	}
	if m.now < prog.LinkStart || m.now >= prog.LinkEnd {
		return mItem{code: 10}
	}
	prov := m.providers[req.ProviderId]
	if prov == nil {
		return mItem{code: 8}
	}
	if prov.suspended {
		return mItem{code: 9}
	}
	cr := m.certs[ck]
	if cr != nil && cr.revoked {
		return mItem{code: 7}
	}
	id := ""
	if cr != nil && cr.mykey != "" {
		id = m.resolve(cr.mykey)
		if m.activeLink(prog.Id, id) != nil {
			return mItem{code: 11}
		}
	}
	if _, taken := m.accounts[[3]string{prog.Id, req.ProviderId, string(req.AccountCommitment)}]; taken {
		return mItem{code: 12}
	}
	if id == "" {
		id = m.issue(i, ck)
		if cr == nil {
			cr = &mCert{}
			m.certs[ck] = cr
		}
		cr.mykey = id
	}
	m.links[[2]string{prog.Id, id}] = &mLink{provider: req.ProviderId, account: string(req.AccountCommitment), height: m.height, active: true}
	m.accounts[[3]string{prog.Id, req.ProviderId, string(req.AccountCommitment)}] = id
	m.addProgram(id, prog.Id)
	m.progTotal(prog.Id).linked++
	m.provTotal(prog.Id, req.ProviderId).linked++
	return mItem{}
}

func (m *model) addProgram(id, program string) {
	mk := m.mykeys[id]
	if !slices.Contains(mk.programs, program) {
		mk.programs = append(mk.programs, program)
	}
}

// issue records a new MyKey ID for the certificate ck, taking its label
// from the App's item-th event.
func (m *model) issue(item int, ck string) string {
	id := m.learn(item)
	if !mValidMyKey(id) || m.mykeys[id] != nil {
		m.mismatch = fmt.Sprintf("the App issued MyKey ID %q, which is malformed or not new", id)
		id = fmt.Sprintf("?%d", m.issued)
	}
	m.issued++
	m.mykeys[id] = &mMyKey{height: m.height, seq: m.issued, certs: []string{ck}}
	return id
}

func (m *model) grant(s *types.SignedGrant) mResult {
	g := s.Grant
	p := m.providers[g.ProviderId]
	if p == nil {
		return mResult{kind: "grant", code: 8}
	}
	if !ed25519.Verify(p.grantKey, g.SignBytes(), s.Signature) {
		return mResult{kind: "grant", code: 4}
	}
	r := mResult{kind: "grant"}
	for _, ch := range g.Charges {
		k := [3]string{ch.ProgramId, g.ProviderId, ch.ChargeRef}
		if m.charges[k] {
			r.items = append(r.items, mItem{code: 14})
			continue
		}
		m.charges[k] = true // recorded whatever its outcome
		r.items = append(r.items, m.charge(g.ProviderId, ch))
	}
	return r
}

func (m *model) charge(provider string, ch *types.Charge) mItem {
	if m.providers[provider].suspended {
		return mItem{code: 9}
	}
	prog := m.programs[ch.ProgramId]
	if prog == nil {
		return mItem{code: 19}
	}
	if m.now < prog.GrantStart || m.now >= prog.GrantEnd || ch.ChargedAt < prog.GrantStart || ch.ChargedAt >= prog.GrantEnd {
		return mItem{code: 10}
	}
	if ch.ChargedAt > m.now+300 {
		return mItem{code: 1}
	}
	id := m.resolve(ch.MykeyId)
	if id == "" {
		return mItem{code: 22}
	}
	if l := m.activeLink(prog.Id, id); l == nil || l.provider != provider {
		return mItem{code: 13}
	}
	person := m.person(prog.Id, id)
	tot := m.progTotal(prog.Id)
	net := person.granted - person.recovered
	capLeft, budgetLeft := prog.CapYen-net, prog.BudgetYen-tot.granted
	var granted int64
	if prog.Kind == types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE {
		earned := ch.AmountYen * prog.RateBp / 10000
		switch {
		case capLeft <= 0:
			return mItem{code: 15}
		case budgetLeft <= 0:
			return mItem{code: 16}
		case earned <= 0:
			return mItem{code: 27}
		}
		granted = min(earned, capLeft, budgetLeft)
	} else {
		switch {
		case !person.attested:
			return mItem{code: 20}
		case net > 0:
			return mItem{code: 15}
		case budgetLeft < prog.FixedYen:
			return mItem{code: 16}
		}
		granted = prog.FixedYen
	}
	person.granted += granted
	tot.granted += granted
	tot.grants++
	vt := m.provTotal(prog.Id, provider)
	vt.granted += granted
	vt.grants++
	// The day is the block's date in Japan, nine hours ahead of UTC.
	dk := [3]string{prog.Id, provider, time.Unix(m.now+9*3600, 0).UTC().Format("2006-01-02")}
	dt := entry(m.daily, dk)
	dt.granted += granted
	dt.grants++
	return mItem{granted: granted}
}

// --- government ---

func (m *model) gov(s *types.SignedGov) mResult {
	a := s.Action
	sb := a.SignBytes()
	valid := 0
	for _, sig := range s.Signatures {
		if !m.govKeys[string(sig.PublicKey)] {
			return mResult{kind: "gov", items: []mItem{{code: 17}}}
		}
		if !ed25519.Verify(sig.PublicKey, sb, sig.Signature) {
			return mResult{kind: "gov", items: []mItem{{code: 4}}}
		}
		valid++
	}
	if valid < m.threshold {
		return mResult{kind: "gov", items: []mItem{{code: 17}}}
	}
	if a.Sequence != m.nextSeq {
		return mResult{kind: "gov", items: []mItem{{code: 18}}}
	}
	// The sequence is used up whatever the outcome; a rejected action
	// changes nothing else.
	m.nextSeq++
	c := m.clone()
	code := c.applyGov(a)
	if code == 0 && !c.valsOK() {
		code = 23
	}
	if code == 0 {
		*m = *c
	} else if c.mismatch != "" {
		m.mismatch = c.mismatch
	}
	return mResult{kind: "gov/" + types.GovActionName(a), items: []mItem{{code: code}}}
}

func (m *model) applyGov(a *types.GovAction) uint32 {
	switch act := a.Action.(type) {
	case *types.GovAction_RegisterProvider:
		p := act.RegisterProvider.Provider
		if !m.validProvider(p) {
			return 1
		}
		if m.providers[p.Id] != nil {
			return 23
		}
		if len(p.ValidatorKey) > 0 {
			if code := m.claim(p.ValidatorKey, p.Id); code != 0 {
				return code
			}
			m.setPower(p.ValidatorKey, p.Power)
		}
		m.providers[p.Id] = &mProvider{grantKey: p.GrantKey, valKey: p.ValidatorKey, power: p.Power}
		return 0
	case *types.GovAction_UpdateProvider:
		return m.updateProvider(act.UpdateProvider)
	case *types.GovAction_SetProgram:
		p := act.SetProgram.Program
		if !mValidProgram(p) {
			return 1
		}
		if p.BudgetYen < m.progTotal(p.Id).granted {
			return 23
		}
		if old := m.programs[p.Id]; old != nil && old.Kind != p.Kind {
			return 23
		}
		m.programs[p.Id] = p
		m.capHigh[p.Id] = max(m.capHigh[p.Id], p.CapYen)
		return 0
	case *types.GovAction_RevokeCertificates:
		r := act.RevokeCertificates
		if len(r.Certificates) == 0 || len(r.Certificates) > 10000 || !mValidText(r.Reason, 256) {
			return 1
		}
		for _, ref := range r.Certificates {
			if !mValidRef(ref) {
				return 1
			}
			k := certKey(ref.Issuer, ref.Serial)
			entry(m.certs, k).revoked = true
		}
		return 0
	case *types.GovAction_Succession:
		return m.succession(act.Succession)
	case *types.GovAction_AttestEligibility:
		at := act.AttestEligibility
		prog := m.programs[at.ProgramId]
		if prog == nil {
			return 19
		}
		if prog.Kind != types.ProgramKind_PROGRAM_KIND_FIXED {
			return 23
		}
		if len(at.MykeyIds) == 0 || len(at.MykeyIds) > 10000 {
			return 1
		}
		for _, raw := range at.MykeyIds {
			if !mValidMyKey(raw) {
				return 1
			}
			id := m.resolve(raw)
			if id == "" {
				return 22
			}
			m.person(prog.Id, id).attested = true
			m.addProgram(id, prog.Id)
		}
		return 0
	case *types.GovAction_Settle:
		st := act.Settle
		if m.programs[st.ProgramId] == nil {
			return 19
		}
		if m.providers[st.ProviderId] == nil {
			return 8
		}
		if st.AmountYen <= 0 || st.AmountYen > 1000*1_000_000_000_000 || st.Reference == "" || !mValidText(st.Reference, 256) {
			return 1
		}
		vt := m.provTotal(st.ProgramId, st.ProviderId)
		if st.AmountYen > vt.granted-vt.settled-vt.recovered {
			return 24
		}
		vt.settled += st.AmountYen
		return 0
	case *types.GovAction_CorrectLinkage:
		return m.correct(act.CorrectLinkage)
	case *types.GovAction_SetNodes:
		return m.setNodes(act.SetNodes)
	}
	return 1
}

// setNodes replaces an owner's P2P node IDs: each 40 lowercase hex
// digits, no duplicate, at most 16, none registered to another owner.
func (m *model) setNodes(s *types.SetNodes) uint32 {
	if len(s.NodeIds) > 16 {
		return 1
	}
	seen := map[string]bool{}
	for _, id := range s.NodeIds {
		if len(id) != 40 || strings.Trim(id, "0123456789abcdef") != "" || seen[id] {
			return 1
		}
		seen[id] = true
	}
	if s.Owner != "government" && m.providers[s.Owner] == nil {
		return 8
	}
	for _, id := range s.NodeIds {
		if o, ok := m.nodes[id]; ok && o != s.Owner {
			return 23
		}
	}
	for _, id := range m.nodeLists[s.Owner] {
		delete(m.nodes, id)
	}
	for _, id := range s.NodeIds {
		m.nodes[id] = s.Owner
	}
	m.nodeLists[s.Owner] = slices.Clone(s.NodeIds)
	return 0
}

func mValidRef(r *types.CertRef) bool {
	return r != nil && len(r.Issuer) > 0 && len(r.Serial) > 0 && len(r.Issuer) <= 1024 && len(r.Serial) <= 32
}

// claim gives a validator key to a provider; a key serves one owner.
func (m *model) claim(k []byte, owner string) uint32 {
	if cur, ok := m.valOwner[string(k)]; ok && cur != owner {
		return 23
	}
	m.valOwner[string(k)] = owner
	return 0
}

func (m *model) updateProvider(u *types.UpdateProvider) uint32 {
	p := m.providers[u.ProviderId]
	if p == nil {
		return 8
	}
	switch u.Status {
	case types.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED:
	case types.ProviderStatus_PROVIDER_STATUS_ACTIVE:
		p.suspended = false
	case types.ProviderStatus_PROVIDER_STATUS_SUSPENDED:
		p.suspended = true
	default:
		return 1
	}
	if len(u.GrantKey) > 0 {
		if !m.validKey(u.GrantKey) {
			return 1
		}
		p.grantKey = u.GrantKey
	}
	if len(u.ValidatorKey) > 0 {
		if !m.validKey(u.ValidatorKey) {
			return 1
		}
		if code := m.claim(u.ValidatorKey, u.ProviderId); code != 0 {
			return code
		}
		if len(p.valKey) > 0 && p.power > 0 {
			m.setPower(p.valKey, 0)
			m.setPower(u.ValidatorKey, p.power)
		}
		p.valKey = u.ValidatorKey
	}
	if u.SetPower {
		if u.Power < 0 || (u.Power > 0 && len(p.valKey) == 0) || u.Power > cmttypes.MaxTotalVotingPower {
			return 23
		}
		p.power = u.Power
		if len(p.valKey) > 0 {
			m.setPower(p.valKey, u.Power)
		}
	}
	return 0
}

func (m *model) correct(k *types.CorrectLinkage) uint32 {
	if k.IncidentRef == "" || !mValidText(k.IncidentRef, 256) || !mValidMyKey(k.MykeyId) {
		return 1
	}
	if m.programs[k.ProgramId] == nil {
		return 19
	}
	id := m.resolve(k.MykeyId)
	if id == "" {
		return 22
	}
	l := m.activeLink(k.ProgramId, id)
	if l == nil {
		return 13
	}
	switch k.Kind {
	case types.CorrectionKind_CORRECTION_KIND_VOID:
		m.void(k.ProgramId, l)
		return 0
	case types.CorrectionKind_CORRECTION_KIND_MOVE:
		if len(k.ToAccountCommitment) != 32 {
			return 1
		}
		if m.providers[k.ToProviderId] == nil {
			return 8
		}
		if _, taken := m.accounts[[3]string{k.ProgramId, k.ToProviderId, string(k.ToAccountCommitment)}]; taken {
			return 12
		}
		m.void(k.ProgramId, l)
		m.links[[2]string{k.ProgramId, id}] = &mLink{provider: k.ToProviderId, account: string(k.ToAccountCommitment), height: m.height, active: true}
		m.accounts[[3]string{k.ProgramId, k.ToProviderId, string(k.ToAccountCommitment)}] = id
		m.progTotal(k.ProgramId).linked++
		m.provTotal(k.ProgramId, k.ToProviderId).linked++
		return 0
	}
	return 1
}

// void ends an active linkage and frees its account.
func (m *model) void(program string, l *mLink) {
	l.active = false
	delete(m.accounts, [3]string{program, l.provider, l.account})
	m.progTotal(program).linked--
	m.provTotal(program, l.provider).linked--
}

func (m *model) succession(s *types.Succession) uint32 {
	if !mValidText(s.Reason, 256) || !mValidRef(s.OldCert) || !mValidRef(s.NewCert) {
		return 1
	}
	oldK, newK := certKey(s.OldCert.Issuer, s.OldCert.Serial), certKey(s.NewCert.Issuer, s.NewCert.Serial)
	if oldK == newK {
		return 23
	}
	oldC, newC := m.certs[oldK], m.certs[newK]
	if oldC == nil {
		oldC = &mCert{}
		m.certs[oldK] = oldC
	}
	if newC == nil {
		newC = &mCert{}
		m.certs[newK] = newC
	}
	oldID, newID := m.resolve(oldC.mykey), m.resolve(newC.mykey)
	switch {
	case oldID == "" && newID == "":
		id := m.issue(0, oldK)
		m.mykeys[id].certs = append(m.mykeys[id].certs, newK)
		oldC.mykey, newC.mykey = id, id
	case newID == "":
		m.mykeys[oldID].certs = append(m.mykeys[oldID].certs, newK)
		newC.mykey = oldID
	case oldID == "":
		m.mykeys[newID].certs = append(m.mykeys[newID].certs, oldK)
		oldC.mykey = newID
	case oldID == newID:
		return 23
	default:
		return m.merge(oldID, newID)
	}
	return 0
}

// merge joins two IDs of one person: the older wins; in each program the
// later linkage is voided and what was paid above the cap is recorded to
// recover from the provider of the later linkage.
func (m *model) merge(a, b string) uint32 {
	w, l := a, b
	ma, mb := m.mykeys[a], m.mykeys[b]
	if mb.height < ma.height || (mb.height == ma.height && mb.seq < ma.seq) {
		w, l = b, a
	}
	mw, ml := m.mykeys[w], m.mykeys[l]
	for _, ck := range ml.certs {
		entry(m.certs, ck).mykey = w
		mw.certs = append(mw.certs, ck)
	}
	for _, p := range ml.programs {
		if code := m.mergeProgram(p, w, l); code != 0 {
			return code
		}
		if !slices.Contains(mw.programs, p) {
			mw.programs = append(mw.programs, p)
		}
	}
	ml.mergedInto = w
	return 0
}

func (m *model) mergeProgram(p, w, l string) uint32 {
	rw, rl := m.links[[2]string{p, w}], m.links[[2]string{p, l}]
	later := func(x, y *mLink) *mLink { // by height, the second on a tie
		switch {
		case x == nil:
			return y
		case y == nil:
			return x
		case x.height > y.height:
			return x
		}
		return y
	}
	recoverFrom := ""
	if lt := later(rw, rl); lt != nil {
		recoverFrom = lt.provider
	}
	lw, ll := m.activeLink(p, w), m.activeLink(p, l)
	moveToWinner := func() {
		moved := *ll
		delete(m.links, [2]string{p, l})
		m.links[[2]string{p, w}] = &moved
		m.accounts[[3]string{p, moved.provider, moved.account}] = w
	}
	switch {
	case lw != nil && ll != nil:
		lt := later(lw, ll)
		m.void(p, lt)
		if lt == lw {
			moveToWinner()
		}
	case ll != nil:
		moveToWinner()
	}
	pl, pw := m.person(p, l), m.person(p, w)
	pw.granted += pl.granted
	pw.recovered += pl.recovered
	pw.attested = pw.attested || pl.attested
	delete(m.persons, [2]string{p, l})
	over := pw.granted - pw.recovered - m.programs[p].CapYen
	if over > 0 {
		if recoverFrom == "" {
			return 23
		}
		pw.recovered += over
		m.provTotal(p, recoverFrom).recovered += over
		m.overGrants[[2]string{p, recoverFrom}] += over
	}
	return 0
}

func govActionNameOf(bz []byte) string {
	tx, err := types.DecodeTx(bz)
	if err != nil {
		return "malformed"
	}
	if g, ok := tx.Body.(*types.Tx_Gov); ok && g.Gov != nil && g.Gov.Action != nil {
		return "gov/" + types.GovActionName(g.Gov.Action)
	}
	return bodyKind(tx)
}

// itemOf reads an item's code and yen from the App's i-th event.
func itemOf(r *abci.ExecTxResult, i int) (uint32, int64, bool) {
	c, err := strconv.ParseUint(attr(r, i, "code"), 10, 32)
	if err != nil {
		return 0, 0, false
	}
	var yen int64
	if y := attr(r, i, "granted_yen"); y != "" {
		if yen, err = strconv.ParseInt(y, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return uint32(c), yen, true
}
