package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
	mykeyrpc "github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/node"

	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/testnet"
)

// rpcAnswer is a JSON-RPC answer of CometBFT's server.
type rpcAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

func (a *rpcAnswer) errText() string {
	if a.Error == nil {
		return ""
	}
	return a.Error.Message + ": " + a.Error.Data
}

// uriGet calls route on the RPC server at base with URI parameters (in
// CometBFT's URI syntax: strings quoted, bytes 0x-hex) and returns the HTTP
// status and body.
func uriGet(t *testing.T, base, route string, q url.Values) (int, []byte) {
	t.Helper()
	u := base + "/" + route
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := http.Get(u)
	return readAnswer(t, "GET "+u, resp, err)
}

// post sends a JSON-RPC request (or batch) body to base.
func post(t *testing.T, base string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(base, "application/json", bytes.NewReader(body))
	return readAnswer(t, "POST "+base, resp, err)
}

// readAnswer returns the HTTP status and body of the answer to request
// (resp and err as the client returned them), failing t if there is none.
func readAnswer(t *testing.T, request string, resp *http.Response, err error) (int, []byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", request, err)
	}
	defer resp.Body.Close()
	bz, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", request, err)
	}
	return resp.StatusCode, bz
}

// call is a JSON-RPC POST of one method.
func call(t *testing.T, base, method string, params map[string]any) (int, *rpcAnswer, []byte) {
	t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	code, bz := post(t, base, body)
	var a rpcAnswer
	if code == http.StatusOK || len(bz) > 0 && bz[0] == '{' {
		_ = json.Unmarshal(bz, &a)
	}
	return code, &a, bz
}

func quoted(s string) string { return strconv.Quote(s) }

func rangeQuery(t *testing.T, prefix, after string) []byte {
	t.Helper()
	bz, err := (&types.RangeQuery{Prefix: prefix, StartAfter: after, Limit: 1000}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

// activity is what the public test network did through the full RPC.
type activity struct {
	cards   map[string]*testca.Card // by name
	mykeyOf map[string]string       // card name -> MyKey ID at link time
}

// publicNetwork starts a 4-validator network and, through the full RPC as
// validators' tools do, links several cards, grants, merges a renewed
// certificate into its predecessor (succession), revokes a certificate and
// voids and moves linkages.
func publicNetwork(t *testing.T) (*network, *activity) {
	nw := newNetwork(t, testnet.Options{Validators: 4})
	nw.StartAll(t)
	act := &activity{cards: map[string]*testca.Card{}, mykeyOf: map[string]string{}}
	// Serials of 8 random bytes: long enough that finding one in what the
	// public endpoint serves is no coincidence.
	issue := func(name string) *testca.Card {
		c, err := nw.CA.Issue(testca.CardOptions{Serial: 1<<62 | rand.Int64N(1<<62)})
		if err != nil {
			t.Fatal(err)
		}
		act.cards[name] = c
		return c
	}
	links := []struct {
		card, provider string
		node           int
	}{
		{"alice", "paypay", 1},
		{"alice-renewed", "linepay", 2},
		{"bob", "paypay", 1},
		{"carol", "linepay", 2},
		{"dave-lost", "rakutenpay", 3},
		{"erin-voided", "paypay", 0},
		{"frank-moved", "linepay", 0},
	}
	for _, l := range links {
		c := issue(l.card)
		r := nw.mustCommit(l.node, nw.linkTx(c, l.provider, "account-"+l.card))
		act.mykeyOf[l.card] = attr(r.TxResult, types.EventLink, types.AttrMyKeyID)
		if act.mykeyOf[l.card] == "" {
			t.Fatalf("link of %s: no mykey_id in its event", l.card)
		}
	}
	nw.mustCommit(1, nw.grantTx("paypay", act.mykeyOf["alice"], 4000, "pp-alice-1", "pp-alice-2"))
	nw.mustCommit(1, nw.grantTx("paypay", act.mykeyOf["bob"], 1200, "pp-bob-1"))
	nw.mustCommit(2, nw.grantTx("linepay", act.mykeyOf["carol"], 800, "lp-carol-1"))
	nw.mustCommit(2, nw.grantTx("linepay", act.mykeyOf["alice-renewed"], 2000, "lp-alice-1"))

	seq := uint64(1)
	govDo := func(a *types.GovAction) {
		t.Helper()
		tx := nw.govTx(seq, a)
		seq++
		r := nw.mustCommit(0, tx)
		if o := attr(r.TxResult, "gov", "outcome"); o != "" && o != "accepted" {
			t.Fatalf("government action %s: %s (%s)", a.String()[:min(80, len(a.String()))], o, attr(r.TxResult, "gov", "log"))
		}
	}
	ref := func(name string) *types.CertRef {
		c := act.cards[name]
		return &types.CertRef{Issuer: c.Cert.RawIssuer, Serial: c.Cert.SerialNumber.Bytes()}
	}
	govDo(&types.GovAction{Action: &types.GovAction_Succession{Succession: &types.Succession{
		OldCert: ref("alice"), NewCert: ref("alice-renewed"), Reason: "certificate renewed"}}})
	govDo(&types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
		Certificates: []*types.CertRef{ref("dave-lost")}, Reason: "card reported lost"}}})
	govDo(&types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: node.DefaultProgram, MykeyId: act.mykeyOf["erin-voided"], Kind: types.CorrectionKind_CORRECTION_KIND_VOID,
		IncidentRef: "INC-1"}}})
	govDo(&types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: node.DefaultProgram, MykeyId: act.mykeyOf["frank-moved"], Kind: types.CorrectionKind_CORRECTION_KIND_MOVE,
		ToProviderId: "paypay", ToAccountCommitment: txbuild.Commitment("account-frank-at-paypay"), IncidentRef: "KIOSK-2"}}})
	// The government's history must hold all four.
	v, _ := nw.query(0, "gov")
	if gs := decode[types.GovState](t, v); gs.NextSequence != seq {
		t.Fatalf("government state: next sequence %d, want %d", gs.NextSequence, seq)
	}
	return nw, act
}

// mustCommit sends tx to node i and waits for it to be committed with
// code 0.
func (nw *network) mustCommit(i int, tx []byte) *ctypes.ResultTx {
	nw.t.Helper()
	res, err := nw.broadcast(i, tx)
	if err != nil {
		nw.t.Fatalf("node %d: broadcast: %v", i, err)
	}
	if res.Code != 0 {
		nw.t.Fatalf("node %d: CheckTx code %d: %s", i, res.Code, res.Log)
	}
	r := nw.committed(i, tx, 30*time.Second)
	if r == nil {
		nw.t.Fatalf("node %d: tx %s not committed within 30 s", i, hexHash(tx))
	}
	if r.TxResult.Code != 0 {
		nw.t.Fatalf("node %d: tx %s: code %d: %s", i, hexHash(tx), r.TxResult.Code, r.TxResult.Log)
	}
	return r
}

// TestPublicEndpoint: on a 4-validator network with links, grants, a
// succession, a revocation and corrections, each node's public endpoint
// answers every route it serves (URI GET and JSON-RPC POST, single and
// batch), refuses everything else, including queries of private records,
// while the full RPC still serves them; the light client verifies public
// records through it; and an outsider crawling everything it serves finds
// no certificate of any test card (publicleak_test.go).
func TestPublicEndpoint(t *testing.T) {
	nw, act := publicNetwork(t)
	pub, full := nw.lay.Nodes[0].Public, nw.lay.Nodes[0].RPC
	if pub == "" {
		t.Fatal("network.json gives node 0 no public endpoint")
	}
	for i, n := range nw.lay.Nodes {
		if want := fmt.Sprintf("http://127.0.0.1:%d", nw.BasePort+node.PortsPerNode*i+4); n.Public != want {
			t.Errorf("node %d: public %q, want %q", i, n.Public, want)
		}
	}
	h := nw.MustHeight(t, 0) - 1
	// A block hash and a tx hash to ask for.
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	blk, err := nw.RPC[0].Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	blockHash := "0x" + hex.EncodeToString(blk.BlockID.Hash)
	link := nw.linkTx(act.cards["bob"], "linepay", "again") // any tx hash will do
	txHash := "0x" + hexHash(link)
	hs := strconv.FormatInt(h, 10)
	alice := "link/" + node.DefaultProgram + "/" + act.mykeyOf["alice"]

	t.Run("allowed", func(t *testing.T) {
		allowed := []struct {
			route string
			q     url.Values
		}{
			{"health", nil},
			{"status", nil},
			{"abci_info", nil},
			{"genesis", nil},
			{"genesis_chunked", url.Values{"chunk": {"0"}}},
			{"header", url.Values{"height": {hs}}},
			{"header_by_hash", url.Values{"hash": {blockHash}}},
			{"commit", url.Values{"height": {hs}}},
			{"validators", url.Values{"height": {hs}}},
			{"consensus_params", url.Values{"height": {hs}}},
			{"abci_query", url.Values{"path": {quoted("/" + alice)}, "prove": {"true"}}},
			{"abci_query", url.Values{"path": {quoted("/key")}, "data": {"0x" + hex.EncodeToString([]byte("programtotals/"+node.DefaultProgram))}}},
			{"abci_query", url.Values{"path": {quoted("/range")}, "data": {"0x" + hex.EncodeToString(rangeQuery(t, "link/", ""))}}},
		}
		if len(node.PublicRoutes) != 11 {
			t.Errorf("PublicRoutes = %v: update this test", node.PublicRoutes)
		}
		for _, c := range allowed {
			code, bz := uriGet(t, pub, c.route, c.q)
			var a rpcAnswer
			if err := json.Unmarshal(bz, &a); code != http.StatusOK || err != nil || a.Error != nil || len(a.Result) == 0 {
				t.Errorf("GET %s %v: HTTP %d %.300s", c.route, c.q, code, bz)
			}
			// The /v1/ path serves the same.
			if code, _ := uriGet(t, pub+"/v1", c.route, c.q); code != http.StatusOK {
				t.Errorf("GET /v1/%s: HTTP %d", c.route, code)
			}
		}
		// The answer is the full RPC's: same app value for the record.
		var a, b struct {
			Response struct {
				Value []byte `json:"value"`
				Code  uint32 `json:"code"`
			} `json:"response"`
		}
		_, pa, _ := call(t, pub, "abci_query", map[string]any{"path": "/" + alice})
		_, fa, _ := call(t, full, "abci_query", map[string]any{"path": "/" + alice})
		if pa.Error != nil || fa.Error != nil {
			t.Fatalf("abci_query by POST: public %s, full %s", pa.errText(), fa.errText())
		}
		if json.Unmarshal(pa.Result, &a) != nil || json.Unmarshal(fa.Result, &b) != nil || len(a.Response.Value) == 0 || !bytes.Equal(a.Response.Value, b.Response.Value) {
			t.Errorf("public and full RPC answer %s differently: %s vs %s", alice, pa.Result, fa.Result)
		}
		// status leaves out the node's addresses, which the full RPC's
		// status gives.
		_, ps, _ := call(t, pub, "status", nil)
		_, fs, _ := call(t, full, "status", nil)
		var pst, fst ctypes.ResultStatus
		if ps.Error != nil || fs.Error != nil || cmtjson.Unmarshal(ps.Result, &pst) != nil || cmtjson.Unmarshal(fs.Result, &fst) != nil {
			t.Fatalf("status: public %s, full %s", ps.errText(), fs.errText())
		}
		if pst.NodeInfo.ListenAddr != "" || pst.NodeInfo.Other.RPCAddress != "" {
			t.Errorf("public status gives the node's addresses: p2p %q, rpc %q", pst.NodeInfo.ListenAddr, pst.NodeInfo.Other.RPCAddress)
		}
		if fst.NodeInfo.ListenAddr == "" || pst.NodeInfo.Network != fst.NodeInfo.Network || pst.SyncInfo.LatestBlockHeight == 0 {
			t.Errorf("public status %+v, full %+v", pst.NodeInfo, fst.NodeInfo)
		}
		// A batch of allowed methods.
		batch := `[{"jsonrpc":"2.0","id":1,"method":"health","params":{}},` +
			`{"jsonrpc":"2.0","id":2,"method":"header","params":{"height":"` + hs + `"}},` +
			`{"jsonrpc":"2.0","id":3,"method":"abci_query","params":{"path":"/provider/paypay"}}]`
		code, bz := post(t, pub, []byte(batch))
		var as []rpcAnswer
		if err := json.Unmarshal(bz, &as); code != http.StatusOK || err != nil || len(as) != 3 {
			t.Fatalf("batch: HTTP %d %.300s", code, bz)
		}
		for i, a := range as {
			if a.Error != nil || len(a.Result) == 0 {
				t.Errorf("batch answer %d: %s", i, a.errText())
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		excluded := []struct {
			route string
			q     url.Values
		}{
			{"block", url.Values{"height": {hs}}},
			{"block_by_hash", url.Values{"hash": {blockHash}}},
			{"block_results", url.Values{"height": {hs}}},
			{"blockchain", url.Values{"minHeight": {"1"}, "maxHeight": {hs}}},
			{"tx", url.Values{"hash": {txHash}}},
			{"tx_search", url.Values{"query": {quoted("tx.height>0")}}},
			{"block_search", url.Values{"query": {quoted("block.height>0")}}},
			{"unconfirmed_txs", nil},
			{"num_unconfirmed_txs", nil},
			{"net_info", nil},
			{"consensus_state", nil},
			{"dump_consensus_state", nil},
			{"broadcast_tx_sync", url.Values{"tx": {"0x" + hex.EncodeToString(link)}}},
			{"broadcast_tx_async", url.Values{"tx": {"0x" + hex.EncodeToString(link)}}},
			{"broadcast_tx_commit", url.Values{"tx": {"0x" + hex.EncodeToString(link)}}},
			{"check_tx", url.Values{"tx": {"0x" + hex.EncodeToString(link)}}},
			{"broadcast_evidence", nil},
			{"subscribe", url.Values{"query": {quoted("tm.event='NewBlock'")}}},
			{"dial_peers", nil},
			{"unsafe_flush_mempool", nil},
		}
		for _, c := range excluded {
			if code, bz := uriGet(t, pub, c.route, c.q); code != http.StatusNotFound {
				t.Errorf("public GET %s: HTTP %d %.200s, want 404", c.route, code, bz)
			}
			if code, bz := uriGet(t, pub+"/v1", c.route, c.q); code != http.StatusNotFound {
				t.Errorf("public GET /v1/%s: HTTP %d %.200s, want 404", c.route, code, bz)
			}
			params := map[string]any{}
			for k, v := range c.q {
				params[k] = strings.Trim(strings.TrimPrefix(v[0], "0x"), `"`)
			}
			_, a, bz := call(t, pub, c.route, params)
			if a.Error == nil || !strings.Contains(a.Error.Message, "Method not found") {
				t.Errorf("public POST %s: %.200s, want Method not found", c.route, bz)
			}
		}
		// A batch with one excluded method: that one is refused.
		code, bz := post(t, pub, []byte(`[{"jsonrpc":"2.0","id":1,"method":"health","params":{}},{"jsonrpc":"2.0","id":2,"method":"block","params":{"height":"`+hs+`"}}]`))
		var as []rpcAnswer
		if err := json.Unmarshal(bz, &as); code != http.StatusOK || err != nil || len(as) != 2 || as[0].Error != nil || as[1].Error == nil {
			t.Errorf("batch with block: HTTP %d %.300s", code, bz)
		}
		// No websocket.
		for _, p := range []string{"/websocket", "/v1/websocket"} {
			if code := wsUpgrade(t, pub+p); code != http.StatusNotFound {
				t.Errorf("websocket %s: HTTP %d, want 404", pub+p, code)
			}
		}
		// Private records and ranges that could reach them.
		certKey := nw.certIndexKey()
		privateQueries := []struct {
			path string
			data []byte
		}{
			{"/" + certKey, nil},
			{"/key", []byte(certKey)},
			{"/charge/" + node.DefaultProgram + "/paypay/pp-bob-1", nil},
			{"/key", []byte("charge/" + node.DefaultProgram + "/paypay/pp-bob-1")},
			{"/range", rangeQuery(t, "", "")},
			{"/range", rangeQuery(t, "c", "")},
			{"/range", rangeQuery(t, "charge/", "")},
			{"/range", rangeQuery(t, "cert/", "")},
			{"/range", rangeQuery(t, "count/", "")},
			{"/certindex", nil},
			{"/p2p/filter/id/" + nw.lay.Nodes[1].NodeID, nil},
		}
		for _, q := range privateQueries {
			params := map[string]any{"path": q.path, "data": hex.EncodeToString(q.data)}
			// Refused with the ledger's code not_public, and nothing else in
			// the answer.
			var res ctypes.ResultABCIQuery
			_, a, bz := call(t, pub, "abci_query", params)
			if a.Error != nil || cmtjson.Unmarshal(a.Result, &res) != nil || res.Response.Code != types.ErrNotPublic.Code ||
				!strings.Contains(res.Response.Log, node.ErrNotPublic.Error()) || len(res.Response.Value) != 0 || res.Response.ProofOps != nil {
				t.Errorf("public abci_query %s %q: %.300s, want refused as not public", q.path, q.data, bz)
			}
			gq := url.Values{"path": {quoted(q.path)}}
			if len(q.data) > 0 {
				gq.Set("data", "0x"+hex.EncodeToString(q.data))
			}
			if _, bz := uriGet(t, pub, "abci_query", gq); !bytes.Contains(bz, []byte(fmt.Sprintf(`"code":%d`, types.ErrNotPublic.Code))) ||
				!bytes.Contains(bz, []byte(node.ErrNotPublic.Error())) {
				t.Errorf("public GET abci_query %s: %.300s, want refused as not public", q.path, bz)
			}
		}
		// The full RPC still serves all of it.
		for _, q := range privateQueries[:7] {
			_, a, bz := call(t, full, "abci_query", map[string]any{"path": q.path, "data": hex.EncodeToString(q.data)})
			var r struct {
				Response struct {
					Code  uint32 `json:"code"`
					Value []byte `json:"value"`
				} `json:"response"`
			}
			if a.Error != nil || json.Unmarshal(a.Result, &r) != nil || r.Response.Code != 0 || len(r.Response.Value) == 0 {
				t.Errorf("full RPC abci_query %s %q: %.300s", q.path, q.data, bz)
			}
		}
		for _, c := range []struct {
			route string
			q     url.Values
		}{
			{"block", url.Values{"height": {hs}}},
			{"tx_search", url.Values{"query": {quoted("tx.height>0")}}},
			{"net_info", nil},
			{"unconfirmed_txs", nil},
		} {
			if code, bz := uriGet(t, full, c.route, c.q); code != http.StatusOK || bytes.Contains(bz, []byte(`"error"`)) {
				t.Errorf("full RPC GET %s: HTTP %d %.200s", c.route, code, bz)
			}
		}
		ctx, cancel := ctxT(10 * time.Second)
		defer cancel()
		if res, err := nw.RPC[0].BroadcastTxSync(ctx, link); err != nil && !strings.Contains(err.Error(), "is invalid") || err == nil && res == nil {
			t.Errorf("full RPC broadcast_tx_sync: %v", err)
		}
		if code := wsUpgrade(t, full+"/websocket"); code != http.StatusSwitchingProtocols {
			t.Errorf("full RPC websocket: HTTP %d, want 101", code)
		}
	})

	t.Run("light client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		c, err := lightverify.New(ctx, lightverify.Options{Node: nw.lay.Nodes[1].Public, Genesis: nw.lay.Genesis,
			Witnesses: []string{nw.lay.Nodes[2].Public}, HeaderWait: 30 * time.Second})
		if err != nil {
			t.Fatalf("light client on the public endpoint: %v", err)
		}
		t.Logf("light client ready in %s", time.Since(start))
		rec, err := c.Get(ctx, "provider/paypay")
		if err != nil {
			t.Fatalf("verified read of provider/paypay: %v", err)
		}
		if p := decode[types.Provider](t, rec.Value); p.Id != "paypay" {
			t.Fatalf("provider/paypay: %+v", p)
		}
		t.Logf("verified read after %s", time.Since(start))
		page, err := c.Range(ctx, "link/"+node.DefaultProgram+"/", "", 100)
		if err != nil {
			t.Fatalf("verified range of link/: %v", err)
		}
		if len(page.Records) < 4 {
			t.Fatalf("verified range of link/: %d records", len(page.Records))
		}
		// A private record is refused, not served.
		if _, err := c.Get(ctx, nw.certIndexKey()); err == nil || !strings.Contains(err.Error(), node.ErrNotPublic.Error()) {
			t.Fatalf("light client read of the certificate index: %v, want refused", err)
		}
	})

	t.Run("client/rpc", func(t *testing.T) {
		// The project's RPC client reads public records through the
		// public endpoint, proved, one by one and in batches; it cannot
		// submit there.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := mykeyrpc.Dial(pub)
		if err != nil {
			t.Fatal(err)
		}
		var prov types.Provider
		if a, err := mykeyrpc.Get(ctx, n, mykeyrpc.KeyProvider("linepay"), &prov, true); err != nil || !a.Found || !a.Verified || prov.Id != "linepay" {
			t.Fatalf("client/rpc proved read of provider/linepay: %v %+v", err, a)
		}
		paths := []string{"/" + mykeyrpc.KeyGov(), "/" + mykeyrpc.KeyProgram(node.DefaultProgram), "/" + alice}
		rs, err := n.QueryMany(ctx, paths)
		if err != nil || len(rs) != len(paths) {
			t.Fatalf("client/rpc batch of public queries: %v", err)
		}
		for i, r := range rs {
			if r.Code != 0 || len(r.Value) == 0 {
				t.Errorf("client/rpc batch: %s: code %d %s", paths[i], r.Code, r.Log)
			}
		}
		var cr types.CertRecord
		if _, err := mykeyrpc.Get(ctx, n, nw.certIndexKey(), &cr, false); err == nil || !strings.Contains(err.Error(), node.ErrNotPublic.Error()) {
			t.Errorf("client/rpc read of the certificate index through the public endpoint: %v, want refused", err)
		}
		if _, err := n.Broadcast(ctx, link); err == nil {
			t.Error("client/rpc broadcast through the public endpoint succeeded")
		}
	})

	t.Run("no leak", func(t *testing.T) {
		cr := crawlPublic(t, pub, nw.lay.Genesis)
		found := cr.search(append(needlesOf(act.cards), chargeNeedles("pp-alice-1", "pp-alice-2", "pp-bob-1")...))
		reportLeaks(t, found)
	})

	t.Run("planted leak detected", func(t *testing.T) {
		nw.plantedLeak(t, act.cards["bob"])
	})
}

// certIndexKey is the key of a record of the certificate index, read
// through the full RPC (its keys are PRF images an outsider cannot
// compute).
func (nw *network) certIndexKey() string {
	nw.t.Helper()
	_, a, bz := call(nw.t, nw.lay.Nodes[0].RPC, "abci_query", map[string]any{"path": "/range", "data": hex.EncodeToString(rangeQuery(nw.t, "cert/", ""))})
	var r struct {
		Response struct {
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if a.Error != nil || json.Unmarshal(a.Result, &r) != nil {
		nw.t.Fatalf("full RPC range cert/: %.300s", bz)
	}
	var rr types.RangeResult
	if err := rr.Unmarshal(r.Response.Value); err != nil || len(rr.Records) == 0 {
		nw.t.Fatalf("full RPC range cert/: %v, %d records", err, len(rr.Records))
	}
	return rr.Records[0].Key
}

// wsUpgrade asks url for a websocket upgrade and returns the HTTP status
// (101 when the server upgrades).
func wsUpgrade(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
