package audit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

// tamperProxy is a reverse proxy in front of a node's RPC that alters
// answers: abci_query values (alterQuery) or commit headers (alterCommit).
type tamperProxy struct {
	srv    *httptest.Server
	target string
	// alterQuery gets each abci_query's path and value and returns the
	// value to send instead, and whether it changed anything.
	alterQuery func(path string, value []byte) ([]byte, bool)
	// alterCommit gets each commit answer's result (JSON) and returns it
	// changed, or nil to leave it.
	alterCommit func(result json.RawMessage) json.RawMessage

	mu      sync.Mutex
	altered int
}

func newTamperProxy(t *testing.T, target string) *tamperProxy {
	p := &tamperProxy{target: target}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *tamperProxy) URL() string { return p.srv.URL }

func (p *tamperProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.altered
}

type rpcRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

func (p *tamperProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	var rq rpcRequest
	if json.Unmarshal(body, &rq) == nil {
		switch rq.Method {
		case "abci_query":
			if p.alterQuery != nil {
				out = p.query(rq.Params, out)
			}
		case "commit":
			if p.alterCommit != nil {
				out = p.commit(out)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.StatusCode)
	w.Write(out)
}

func (p *tamperProxy) query(params json.RawMessage, out []byte) []byte {
	var prm struct {
		Path string `json:"path"`
	}
	var resp rpcResponse
	if json.Unmarshal(params, &prm) != nil || json.Unmarshal(out, &resp) != nil || resp.Result == nil {
		return out
	}
	var result map[string]json.RawMessage
	var response map[string]json.RawMessage
	if json.Unmarshal(resp.Result, &result) != nil || json.Unmarshal(result["response"], &response) != nil {
		return out
	}
	var b64 string
	if v, ok := response["value"]; ok {
		_ = json.Unmarshal(v, &b64)
	}
	value, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return out
	}
	nv, changed := p.alterQuery(prm.Path, value)
	if !changed {
		return out
	}
	p.mu.Lock()
	p.altered++
	p.mu.Unlock()
	response["value"], _ = json.Marshal(base64.StdEncoding.EncodeToString(nv))
	result["response"], _ = json.Marshal(response)
	resp.Result, _ = json.Marshal(result)
	bz, _ := json.Marshal(resp)
	return bz
}

func (p *tamperProxy) commit(out []byte) []byte {
	var resp rpcResponse
	if json.Unmarshal(out, &resp) != nil || resp.Result == nil {
		return out
	}
	nr := p.alterCommit(resp.Result)
	if nr == nil {
		return out
	}
	p.mu.Lock()
	p.altered++
	p.mu.Unlock()
	resp.Result = nr
	bz, _ := json.Marshal(resp)
	return bz
}

// alterRange applies fn to the records of "/range" answers (and single
// record answers of the same keys): fn returns the records to send.
func alterRange(fn func(recs []*types.RangeRecord) ([]*types.RangeRecord, bool)) func(string, []byte) ([]byte, bool) {
	return func(path string, value []byte) ([]byte, bool) {
		if path != "/range" {
			if value == nil {
				return nil, false
			}
			recs, changed := fn([]*types.RangeRecord{{Key: strings.TrimPrefix(path, "/"), Value: value}})
			if !changed || len(recs) != 1 {
				return nil, false
			}
			return recs[0].Value, true
		}
		var rr types.RangeResult
		if rr.Unmarshal(value) != nil {
			return nil, false
		}
		recs, changed := fn(rr.Records)
		if !changed {
			return nil, false
		}
		// Keep the cursor the last key, as the node would.
		if rr.Next != "" && len(recs) > 0 {
			rr.Next = recs[len(recs)-1].Key
		}
		rr.Records = recs
		bz, _ := rr.Marshal()
		return bz, true
	}
}

// yenRecord is a record that alterations decode and encode again.
type yenRecord interface {
	Unmarshal([]byte) error
	Marshal() ([]byte, error)
}

// addToFirst raises by yen the granted yen of the first record whose key
// match accepts; record returns an empty record of its type and where
// the record holds its granted yen.
func addToFirst(match func(key string) bool, yen int64, record func() (yenRecord, *int64)) func(string, []byte) ([]byte, bool) {
	return alterRange(func(recs []*types.RangeRecord) ([]*types.RangeRecord, bool) {
		for _, r := range recs {
			if !match(r.Key) {
				continue
			}
			v, granted := record()
			if v.Unmarshal(r.Value) != nil {
				return recs, false
			}
			*granted += yen
			r.Value, _ = v.Marshal()
			return recs, true
		}
		return recs, false
	})
}

func under(prefix string) func(string) bool {
	return func(key string) bool { return strings.HasPrefix(key, prefix) }
}

// addToGrant raises the granted yen of the first grant record under
// prefix by yen.
func addToGrant(prefix string, yen int64) func(string, []byte) ([]byte, bool) {
	return addToFirst(under(prefix), yen, func() (yenRecord, *int64) {
		var g types.GrantRecord
		return &g, &g.GrantedYen
	})
}

// addToDaily raises the granted yen of the first daily record under
// prefix by yen.
func addToDaily(prefix string, yen int64) func(string, []byte) ([]byte, bool) {
	return addToFirst(under(prefix), yen, func() (yenRecord, *int64) {
		var d types.DailyTotals
		return &d, &d.GrantedYen
	})
}

// addToProviderTotals raises the granted yen of the provider totals at
// key by yen.
func addToProviderTotals(key string, yen int64) func(string, []byte) ([]byte, bool) {
	return addToFirst(func(k string) bool { return k == key }, yen, func() (yenRecord, *int64) {
		var v types.ProviderTotals
		return &v, &v.GrantedYen
	})
}

// dropFromRange leaves the first record that drop picks (by its key, its
// place i on the page and the page's length n) out of range answers;
// every record left keeps its valid proof.
func dropFromRange(drop func(key string, i, n int) bool) func(string, []byte) ([]byte, bool) {
	return func(path string, value []byte) ([]byte, bool) {
		if path != "/range" {
			return nil, false
		}
		return alterRange(func(recs []*types.RangeRecord) ([]*types.RangeRecord, bool) {
			for i, r := range recs {
				if drop(r.Key, i, len(recs)) {
					return append(recs[:i:i], recs[i+1:]...), true
				}
			}
			return recs, false
		})(path, value)
	}
}

// dropRecord leaves the record at key out of range answers, unless it is
// the last of its page.
func dropRecord(key string) func(string, []byte) ([]byte, bool) {
	return dropFromRange(func(k string, i, n int) bool { return k == key && i+1 < n })
}

// dropFirstUnder leaves the first record under prefix out of range
// answers, wherever it is on its page; the count the answer carries keeps
// its valid proof too.
func dropFirstUnder(prefix string) func(string, []byte) ([]byte, bool) {
	return dropFromRange(func(k string, _, _ int) bool { return strings.HasPrefix(k, prefix) })
}

// forgeAppHash replaces the app hash of every header from height 3 on
// (the genesis anchor, block 1, stays intact).
func forgeAppHash(result json.RawMessage) json.RawMessage {
	var res struct {
		SignedHeader struct {
			Header map[string]json.RawMessage `json:"header"`
			Commit json.RawMessage            `json:"commit"`
		} `json:"signed_header"`
		Canonical bool `json:"canonical"`
	}
	if json.Unmarshal(result, &res) != nil || res.SignedHeader.Header == nil {
		return nil
	}
	var height string
	_ = json.Unmarshal(res.SignedHeader.Header["height"], &height)
	if height == "1" || height == "2" {
		return nil
	}
	forged := bytes.Repeat([]byte{0xAB}, 48)
	res.SignedHeader.Header["app_hash"], _ = json.Marshal(strings.ToUpper(hex.EncodeToString(forged)))
	bz, _ := json.Marshal(res)
	return bz
}

// downProxy forwards to a node but, while down, drops the connections of
// the requests the light client makes (commit, validators); status and
// queries still pass, so that only the light client sees the outage.
type downProxy struct {
	*httptest.Server
	down atomic.Bool
}

func newDownProxy(t *testing.T, target string) *downProxy {
	p := &downProxy{}
	fwd := newTamperProxy(t, target) // forwards unchanged
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rq rpcRequest
		_ = json.Unmarshal(body, &rq)
		if p.down.Load() && (rq.Method == "commit" || rq.Method == "validators") {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		fwd.serve(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}
