package e2e

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
	"github.com/mykeyledger/mykey/client/audit/web"
	"github.com/mykeyledger/mykey/client/cli"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet"
)

// The outsider's view. Everything the public endpoint serves is crawled
// (every route it answers, at every height; every record under every
// public directory, page by page and one by one; the auditor's export,
// reports and explorer pages read through it) and searched for every test
// card's certificate in every form an outsider could match it in.

// needle is one byte string that identifies a card's certificate.
type needle struct {
	card, what string
	b          []byte
	// text forms only (a decimal serial has no raw form to search for).
	textOnly bool
}

// needlesOf lists, for every card, its certificate (DER), serial (bytes,
// decimal, hex), fingerprint (SHA-256 of the DER), public key (SPKI DER,
// modulus) and subject CN.
func needlesOf(cards map[string]*testca.Card) []needle {
	var ns []needle
	names := make([]string, 0, len(cards))
	for n := range cards {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := cards[n]
		fp := sha256.Sum256(c.CertDER)
		ns = append(ns,
			needle{card: n, what: "certificate DER", b: c.CertDER},
			needle{card: n, what: "serial", b: c.Cert.SerialNumber.Bytes()},
			needle{card: n, what: "serial (decimal)", b: []byte(c.Cert.SerialNumber.String()), textOnly: true},
			needle{card: n, what: "fingerprint", b: fp[:]},
			needle{card: n, what: "public key (SPKI DER)", b: c.Cert.RawSubjectPublicKeyInfo},
			needle{card: n, what: "subject", b: c.Cert.RawSubject},
			needle{card: n, what: "subject CN", b: []byte(c.Cert.Subject.CommonName), textOnly: true},
		)
		if pk, ok := c.Cert.PublicKey.(*rsa.PublicKey); ok {
			ns = append(ns, needle{card: n, what: "RSA modulus", b: pk.N.Bytes()})
		}
		ns = append(ns, needle{card: n, what: "MyKey ID by the public formula of DESIGN's first version",
			b: []byte(outsiderID(c.Cert.RawIssuer, c.Cert.SerialNumber.Bytes())), textOnly: true})
	}
	return ns
}

// outsiderID is what anyone holding a certificate could compute as its
// MyKey ID before IDs were keyed: 40 bits of SHA-256 over the issuer and
// serial, in Crockford base32.
func outsiderID(issuer, serial []byte) string {
	h := sha256.New()
	h.Write([]byte("mykey/id/v1\n"))
	for _, f := range [][]byte{issuer, serial} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		h.Write(f)
	}
	h.Write(binary.BigEndian.AppendUint32(nil, 0))
	sum := h.Sum(nil)
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	out := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return string(out)
}

// chargeNeedles are charge references: single charges stay with the
// validators, so the public side must not show them.
func chargeNeedles(refs ...string) []needle {
	var ns []needle
	for _, r := range refs {
		ns = append(ns, needle{card: "charges", what: "charge reference " + r, b: []byte(r), textOnly: true})
	}
	return ns
}

// forms are the encodings a needle is searched in.
func forms(n needle) map[string][]byte {
	f := map[string][]byte{}
	if n.textOnly {
		f["text"] = n.b
		return f
	}
	f["raw"] = n.b
	f["hex"] = []byte(hex.EncodeToString(n.b))
	f["HEX"] = []byte(strings.ToUpper(hex.EncodeToString(n.b)))
	// Unpadded: the padding depends on what follows when the bytes are
	// part of a longer encoded string; decoded runs (crawl.add) cover
	// other alignments.
	f["base64"] = []byte(base64.RawStdEncoding.EncodeToString(n.b))
	f["base64url"] = []byte(base64.RawURLEncoding.EncodeToString(n.b))
	return f
}

// blob is one thing the public endpoint served, or a decoding of part of
// one, and where it came from.
type blob struct {
	where string
	data  []byte
}

type crawl struct {
	t     *testing.T
	base  string
	blobs []blob
	calls int
}

var (
	base64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{16,}={0,2}`)
	hexRun    = regexp.MustCompile(`[0-9A-Fa-f]{16,}`)
)

// add records data as served at where, with every base64 or hex run in it
// decoded (two levels deep: a JSON answer's base64 value holds a record
// whose strings may hold more).
func (c *crawl) add(where string, data []byte) {
	c.addDepth(where, data, 0)
}

func (c *crawl) addDepth(where string, data []byte, depth int) {
	c.blobs = append(c.blobs, blob{where, data})
	if depth == 2 {
		return
	}
	for _, run := range base64Run.FindAll(data, -1) {
		s := strings.TrimRight(string(run), "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			// Every alignment: the run may start mid-quantum.
			for off := 0; off < 4 && off < len(s); off++ {
				t := s[off:]
				if len(t)%4 == 1 {
					t = t[:len(t)-1]
				}
				if d, err := enc.DecodeString(t); err == nil && len(d) >= 8 {
					c.addDepth(where+" (base64-decoded)", d, depth+1)
				}
			}
		}
	}
	for _, run := range hexRun.FindAll(data, -1) {
		for off := 0; off < 2; off++ {
			t := run[off:]
			t = t[:len(t)/2*2]
			d := make([]byte, len(t)/2)
			if _, err := hex.Decode(d, t); err == nil && len(d) >= 8 {
				c.addDepth(where+" (hex-decoded)", d, depth+1)
			}
		}
	}
}

// get calls a route by URI GET and records the answer; it returns the
// decoded result (nil on an error answer).
func (c *crawl) get(route string, q url.Values) json.RawMessage {
	c.t.Helper()
	code, bz := uriGet(c.t, c.base, route, q)
	c.calls++
	where := route
	switch {
	case route == "abci_query":
		// Name the record or range asked for, not its encoding.
		path, _ := strconv.Unquote(q.Get("path"))
		where += " " + path
		var rq types.RangeQuery
		if d, err := hex.DecodeString(strings.TrimPrefix(q.Get("data"), "0x")); err == nil && path == "/range" && rq.Unmarshal(d) == nil {
			where += fmt.Sprintf(" prefix %q after %q", rq.Prefix, rq.StartAfter)
		}
	case len(q) > 0:
		where += "?" + q.Encode()
	}
	c.add(where, bz)
	var a rpcAnswer
	if code != http.StatusOK || json.Unmarshal(bz, &a) != nil || a.Error != nil {
		return nil
	}
	return a.Result
}

// crawlPublic reads everything the public endpoint at base serves.
func crawlPublic(t *testing.T, base, genesisFile string) *crawl {
	t.Helper()
	c := &crawl{t: t, base: base}
	c.get("health", nil)
	c.get("abci_info", nil)
	c.get("genesis", nil)
	if r := c.get("genesis_chunked", url.Values{"chunk": {"0"}}); r != nil {
		var g struct {
			Total string `json:"total"`
		}
		_ = json.Unmarshal(r, &g)
		total, _ := strconv.Atoi(g.Total)
		for i := 1; i < total; i++ {
			c.get("genesis_chunked", url.Values{"chunk": {strconv.Itoa(i)}})
		}
	}
	var st struct {
		SyncInfo struct {
			Latest   string `json:"latest_block_height"`
			Earliest string `json:"earliest_block_height"`
		} `json:"sync_info"`
	}
	if err := json.Unmarshal(c.get("status", nil), &st); err != nil {
		t.Fatalf("public status: %v", err)
	}
	latest, _ := strconv.ParseInt(st.SyncInfo.Latest, 10, 64)
	earliest, _ := strconv.ParseInt(st.SyncInfo.Earliest, 10, 64)
	if latest < 2 {
		t.Fatalf("public status: latest height %q", st.SyncInfo.Latest)
	}
	for h := max(earliest, 1); h <= latest; h++ {
		hs := url.Values{"height": {strconv.FormatInt(h, 10)}}
		var hdr struct {
			Header struct {
				LastBlockID struct {
					Hash string `json:"hash"`
				} `json:"last_block_id"`
			} `json:"header"`
		}
		if err := json.Unmarshal(c.get("header", hs), &hdr); err != nil {
			t.Fatalf("public header %d: %v", h, err)
		}
		c.get("commit", hs)
		c.get("validators", hs)
		if bh := hdr.Header.LastBlockID.Hash; bh != "" {
			c.get("header_by_hash", url.Values{"hash": {"0x" + bh}})
		}
	}

	// The state: every public directory, page by page, then every record
	// by itself with its proof.
	var keys []string
	query := func(path string, data []byte) []byte {
		q := url.Values{"path": {quoted(path)}, "prove": {"true"}}
		if data != nil {
			q.Set("data", "0x"+hex.EncodeToString(data))
		}
		r := c.get("abci_query", q)
		var a struct {
			Response struct {
				Code  uint32 `json:"code"`
				Log   string `json:"log"`
				Value []byte `json:"value"`
			} `json:"response"`
		}
		if err := json.Unmarshal(r, &a); err != nil || a.Response.Code != 0 {
			t.Fatalf("public abci_query %s: %v %s %.300s", path, err, a.Response.Log, r)
		}
		return a.Response.Value
	}
	var prefixes []string
	for _, root := range types.PublicRoots {
		switch {
		case root == types.CountPrefix:
		case strings.HasSuffix(root, "/"):
			prefixes = append(prefixes, root, types.CountPrefix+root)
		default:
			if v := query("/"+root, nil); v != nil {
				c.add("record "+root, v)
			}
		}
	}
	for _, p := range prefixes {
		after := ""
		for {
			var rr types.RangeResult
			if err := rr.Unmarshal(query("/range", rangeQuery(t, p, after))); err != nil {
				t.Fatalf("public range %s: %v", p, err)
			}
			for _, r := range rr.Records {
				c.add("range "+p+" record "+r.Key, []byte(r.Key))
				c.add("range "+p+" record "+r.Key, r.Value)
				keys = append(keys, r.Key)
			}
			if rr.Count != nil {
				c.add("range "+p+" count", []byte(rr.Count.String()))
			}
			if rr.Next == "" {
				break
			}
			after = rr.Next
		}
	}
	for _, k := range keys {
		if v := query("/"+k, nil); v != nil {
			c.add("record "+k, v)
		}
	}
	if len(keys) < 10 {
		t.Fatalf("the crawl found only %d records under %v", len(keys), types.PublicRoots)
	}

	// What the auditor's tools show from it.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"summary", "--json"},
		{"history", "--json"},
		{"export"},
		{"export", "--format", "jsonl"},
		{"reconcile", "--json"},
	} {
		var out, errOut bytes.Buffer
		err := cli.Run(ctx, append([]string{"audit", "--node", base, "--genesis", genesisFile}, args...), cli.Env{Stdout: &out, Stderr: &errOut})
		c.add("mykey audit "+strings.Join(args, " "), out.Bytes())
		c.add("mykey audit "+strings.Join(args, " ")+" (stderr)", errOut.Bytes())
		// Every public audit command reads only public records.
		if err != nil {
			t.Errorf("mykey audit %s against the public endpoint: %v\n%s", strings.Join(args, " "), err, errOut.Bytes())
		}
	}
	lc, err := lightverify.New(ctx, lightverify.Options{Node: base, Genesis: genesisFile})
	if err != nil {
		t.Fatalf("light client on the public endpoint: %v", err)
	}
	ex, err := web.New(web.Options{Source: lc, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Snapshot(ctx); err != nil {
		t.Fatalf("explorer snapshot through the public endpoint: %v", err)
	}
	srv := httptest.NewServer(ex.Handler())
	defer srv.Close()
	pages := []string{"/", "/grants", "/grants.csv", "/history"}
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "provider/"); ok {
			pages = append(pages, "/provider/"+url.PathEscape(id))
		}
		if id, ok := strings.CutPrefix(k, "mykey/"); ok {
			pages = append(pages, "/person/"+url.PathEscape(id))
		}
	}
	for _, p := range pages {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		bz, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("explorer %s: HTTP %d %.300s", p, resp.StatusCode, bz)
		}
		c.add("explorer "+p, bz)
	}
	t.Logf("crawled %s: %d calls, %d records, %d explorer pages, %d blobs searched", base, c.calls, len(keys), len(pages), len(c.blobs))
	return c
}

// finding is a needle found in what the public endpoint served.
type finding struct {
	n     needle
	form  string
	where string
}

func (f finding) String() string {
	return fmt.Sprintf("card %s: %s (%s) in %s", f.n.card, f.n.what, f.form, f.where)
}

// search looks for every needle, in every form, in every blob.
func (c *crawl) search(ns []needle) []finding {
	var out []finding
	seen := map[string]bool{}
	for _, n := range ns {
		for form, b := range forms(n) {
			for _, bl := range c.blobs {
				if bytes.Contains(bl.data, b) {
					f := finding{n, form, strings.TrimSuffix(strings.TrimSuffix(bl.where, " (base64-decoded)"), " (hex-decoded)")}
					if k := f.String(); !seen[k] {
						seen[k] = true
						out = append(out, f)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// reportLeaks fails the test naming what was found where (grouped by
// where, at most a few per place).
func reportLeaks(t *testing.T, found []finding) {
	t.Helper()
	if len(found) == 0 {
		return
	}
	byWhere := map[string][]string{}
	var wheres []string
	for _, f := range found {
		// Group by directory or route.
		w := f.where
		if i := strings.Index(w, " record "); i >= 0 {
			w = w[:i+len(" record ")] + strings.SplitN(w[i+len(" record "):], "/", 2)[0] + "/…"
		} else if p, ok := strings.CutPrefix(w, "abci_query /"); ok && !strings.HasPrefix(p, "range") {
			w = "abci_query /" + strings.SplitN(p, "/", 2)[0] + "/…"
		}
		if byWhere[w] == nil {
			wheres = append(wheres, w)
		}
		byWhere[w] = append(byWhere[w], f.String())
	}
	sort.Strings(wheres)
	var b strings.Builder
	fmt.Fprintf(&b, "the public endpoint serves certificate data: %d findings\n", len(found))
	for _, w := range wheres {
		fs := byWhere[w]
		fmt.Fprintf(&b, "  %s: %d findings, e.g.\n", w, len(fs))
		for _, f := range fs[:min(3, len(fs))] {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	}
	t.Error(b.String())
}

// plantedLeak shows the crawl can fail: node 3, restarted as a mykeyd
// built with the mykeytestleak tag and told to serve card's certificate
// on its public endpoint, must be reported.
func (nw *network) plantedLeak(t *testing.T, card *testca.Card) {
	dir := t.TempDir()
	leaky := testnet.Mykeyd(t, "mykeytestleak")
	der := filepath.Join(dir, "leaked.der")
	if err := os.WriteFile(der, card.CertDER, 0o600); err != nil {
		t.Fatal(err)
	}
	const i = 3
	nw.Stop(t, i)
	nw.StartBin(t, i, leaky, "MYKEY_TEST_PUBLIC_LEAK="+der)
	nw.WaitHeight(nw.t, i, nw.MustHeight(nw.t, 0)+1, 60*time.Second)

	found := crawlPublic(t, nw.lay.Nodes[i].Public, nw.lay.Genesis).search(needlesOf(map[string]*testca.Card{"planted": card}))
	ok := false
	for _, f := range found {
		if f.where == "status" && f.n.what == "certificate DER" {
			ok = true
		}
		t.Logf("planted leak search: %s", f)
	}
	if !ok {
		t.Fatalf("the crawl did not report the certificate node %d's public endpoint serves in its status answer", i)
	}
}
