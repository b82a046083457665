package lightverify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
)

// MaxPage is the most records one "/range" answer holds (types.MaxRangeLimit).
const MaxPage = 1000

// Record is one verified record.
type Record struct {
	Key    string
	Value  []byte // nil: proved absent
	Height int64  // the state it was proved in (after this block)
	// Weight is the record's proven weight in the sum trie (granted yen
	// for a grant record); 0 when not verified.
	Weight uint64
}

// Page is one verified page of a range.
type Page struct {
	Prefix  string
	Records []Record
	// Next is the cursor of the following page; "" when the range is done.
	Next   string
	Height int64
	// Counted is set when Prefix is a counted directory (types.Counted);
	// Count is then the number of records under it at Height, proved by
	// its count record.
	Counted bool
	Count   uint64
}

// RawPage is a range answer as the node sent it, not yet verified.
type RawPage struct {
	Prefix, StartAfter string
	Limit              int
	Height             int64
	Result             types.RangeResult
}

// Next is the page's cursor for the following page, as the node said.
func (r *RawPage) Next() string { return r.Result.Next }

// RawRecord is a record answer as the node sent it, not yet verified.
type RawRecord struct {
	Key      string
	Value    []byte
	Height   int64
	ProofOps *cmtcrypto.ProofOps
}

// Get reads and verifies the record at key (absent: Value nil, absence
// proved).
func (c *Client) Get(ctx context.Context, key string) (*Record, error) {
	raw, err := c.FetchRecord(ctx, key)
	if err != nil {
		return nil, err
	}
	return c.VerifyRecord(ctx, raw)
}

// FetchRecord asks for the record at key without verifying it (see
// VerifyRecord).
func (c *Client) FetchRecord(ctx context.Context, key string) (*RawRecord, error) {
	res, err := c.rpc.ABCIQueryWithOptions(ctx, "/"+key, nil, rpcclient.ABCIQueryOptions{Prove: !c.insecure})
	if err != nil {
		return nil, fmt.Errorf("lightverify: query %s at node %s: %w", key, c.node, err)
	}
	r := res.Response
	if r.Code != 0 {
		return nil, &RefusedError{Node: c.node, Key: key, Code: r.Code, Log: r.Log}
	}
	return &RawRecord{Key: key, Value: r.Value, Height: r.Height, ProofOps: r.ProofOps}, nil
}

// VerifyRecord checks a fetched record's proof against the verified app
// hash of its height.
func (c *Client) VerifyRecord(ctx context.Context, raw *RawRecord) (*Record, error) {
	key := raw.Key
	rec := &Record{Key: key, Value: raw.Value, Height: raw.Height}
	if len(rec.Value) == 0 {
		rec.Value = nil
	}
	if c.insecure {
		return rec, nil
	}
	root, err := c.AppHash(ctx, raw.Height)
	if err != nil {
		return nil, err
	}
	perr := func(err error) error { return &ProofError{Node: c.node, Key: key, Height: raw.Height, Err: err} }
	if raw.ProofOps == nil {
		return nil, perr(errors.New("no proof"))
	}
	ops := raw.ProofOps
	if rec.Value == nil {
		if err := proof.VerifyAbsence(root, []byte(key), ops); err != nil {
			return nil, perr(err)
		}
		return rec, nil
	}
	if err := proof.VerifyValue(root, []byte(key), rec.Value, ops); err != nil {
		return nil, perr(err)
	}
	if rec.Weight, err = proof.ProofWeight(ops); err != nil {
		return nil, perr(err)
	}
	return rec, nil
}

// Fetch asks for one page of records under prefix after startAfter,
// without verifying it (see VerifyPage). limit is capped at MaxPage.
func (c *Client) Fetch(ctx context.Context, prefix, startAfter string, limit int) (*RawPage, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	q := types.RangeQuery{Prefix: prefix, StartAfter: startAfter, Limit: uint32(limit)}
	data, err := q.Marshal()
	if err != nil {
		return nil, fmt.Errorf("lightverify: %w", err)
	}
	res, err := c.rpc.ABCIQueryWithOptions(ctx, "/range", data, rpcclient.ABCIQueryOptions{Prove: !c.insecure})
	if err != nil {
		return nil, fmt.Errorf("lightverify: range %s at node %s: %w", prefix, c.node, err)
	}
	r := res.Response
	if r.Code != 0 {
		return nil, &RefusedError{Node: c.node, Key: prefix, Code: r.Code, Log: r.Log, Range: true}
	}
	p := &RawPage{Prefix: prefix, StartAfter: startAfter, Limit: limit, Height: r.Height}
	if err := p.Result.Unmarshal(r.Value); err != nil {
		return nil, &ProofError{Node: c.node, Key: prefix, Height: r.Height, Err: fmt.Errorf("range answer does not decode: %w", err)}
	}
	// A cursor that does not advance would page forever.
	if n := p.Result.Next; n != "" && (n <= startAfter || !strings.HasPrefix(n, prefix)) {
		return nil, &ProofError{Node: c.node, Key: prefix, Height: r.Height, Err: fmt.Errorf("next cursor %q does not advance past %q", n, startAfter)}
	}
	return p, nil
}

// VerifyPage checks a fetched page: its shape, and every record's proof
// against the verified app hash of the page's height.
func (c *Client) VerifyPage(ctx context.Context, raw *RawPage) (*Page, error) {
	perr := func(key string, err error) error {
		return &ProofError{Node: c.node, Key: key, Height: raw.Height, Err: err}
	}
	recs := raw.Result.Records
	if len(recs) > raw.Limit {
		return nil, perr(raw.Prefix, fmt.Errorf("%d records for a limit of %d", len(recs), raw.Limit))
	}
	prev := raw.StartAfter
	for i, r := range recs {
		if !strings.HasPrefix(r.Key, raw.Prefix) {
			return nil, perr(r.Key, fmt.Errorf("record outside the range %q", raw.Prefix))
		}
		if (i > 0 || prev != "") && r.Key <= prev {
			return nil, perr(r.Key, fmt.Errorf("records out of order: %q after %q", r.Key, prev))
		}
		prev = r.Key
	}
	if n := raw.Result.Next; n != "" && (len(recs) == 0 || n != recs[len(recs)-1].Key) {
		return nil, perr(raw.Prefix, fmt.Errorf("next cursor %q is not the last record's key", n))
	}
	page := &Page{Prefix: raw.Prefix, Next: raw.Result.Next, Height: raw.Height, Records: make([]Record, len(recs))}
	var root []byte
	if !c.insecure {
		var err error
		if root, err = c.AppHash(ctx, raw.Height); err != nil {
			return nil, err
		}
	}
	if err := c.verifyCount(raw, root, page); err != nil {
		return nil, err
	}
	for i, r := range recs {
		rec := Record{Key: r.Key, Value: r.Value, Height: raw.Height}
		if !c.insecure {
			var ops cmtcrypto.ProofOps
			if len(r.ProofOps) == 0 {
				return nil, perr(r.Key, errors.New("no proof"))
			}
			if err := ops.Unmarshal(r.ProofOps); err != nil {
				return nil, perr(r.Key, fmt.Errorf("proof does not decode: %w", err))
			}
			if err := proof.VerifyValue(root, []byte(r.Key), r.Value, &ops); err != nil {
				return nil, perr(r.Key, err)
			}
			w, err := proof.ProofWeight(&ops)
			if err != nil {
				return nil, perr(r.Key, err)
			}
			rec.Weight = w
		}
		page.Records[i] = rec
	}
	return page, nil
}

// verifyCount checks the count record of a page over a counted
// directory against root (nil when not verifying) and sets page.Count.
func (c *Client) verifyCount(raw *RawPage, root []byte, page *Page) error {
	cnt := raw.Result.Count
	if !types.Counted(raw.Prefix) {
		return nil
	}
	key := types.CountKey(raw.Prefix)
	perr := func(err error) error { return &ProofError{Node: c.node, Key: key, Height: raw.Height, Err: err} }
	if cnt == nil {
		return perr(fmt.Errorf("the range of %q came without its count record", raw.Prefix))
	}
	if cnt.Key != key {
		return perr(fmt.Errorf("the range of %q came with the count record %q", raw.Prefix, cnt.Key))
	}
	if !c.insecure {
		var ops cmtcrypto.ProofOps
		if len(cnt.ProofOps) == 0 {
			return perr(errors.New("no proof of the count record"))
		}
		if err := ops.Unmarshal(cnt.ProofOps); err != nil {
			return perr(fmt.Errorf("count proof does not decode: %w", err))
		}
		var err error
		if len(cnt.Value) == 0 {
			err = proof.VerifyAbsence(root, []byte(key), &ops)
		} else {
			err = proof.VerifyValue(root, []byte(key), cnt.Value, &ops)
		}
		if err != nil {
			return perr(err)
		}
	}
	n, err := types.DecodeCount(cnt.Value)
	if err != nil {
		return perr(err)
	}
	if uint64(len(raw.Result.Records)) > n {
		return perr(fmt.Errorf("%d records on one page under %s, which holds %d", len(raw.Result.Records), raw.Prefix, n))
	}
	page.Counted, page.Count = true, n
	return nil
}

// Range fetches and verifies one page.
func (c *Client) Range(ctx context.Context, prefix, startAfter string, limit int) (*Page, error) {
	raw, err := c.Fetch(ctx, prefix, startAfter, limit)
	if err != nil {
		return nil, err
	}
	return c.VerifyPage(ctx, raw)
}
