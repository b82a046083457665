package app

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
)

// Query serves committed records. The path names the record's store key
// ("/provider/paypay", "/link/<program>/<mykey>", "/charge/<program>/<provider>/<ref>",
// see app/types/keys.go), or is "/key" with the raw key in Data. With Prove the answer
// carries ProofOps that verify the value (or its absence) against the app
// hash of the returned height, which the header at height+1 holds.
// Queries always answer from the last committed state; Height must be 0
// or that height. Query does not take the App's lock: it reads one
// consistent view of the store, so it never waits for consensus and never
// sees half a block.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (res *abci.QueryResponse, err error) {
	err = a.store.View(func(v *store.View) error {
		res, err = a.query(v, req)
		return err
	})
	return res, err
}

func (a *App) query(v *store.View, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	height := v.Height()
	res := &abci.QueryResponse{Codespace: types.Codespace, Height: height}
	var key []byte
	switch {
	case strings.HasPrefix(req.Path, "/p2p/"):
		return a.queryFilter(req.Path, res), nil
	case req.Path == "/range":
		if req.Height != 0 && req.Height != height {
			res.Code, res.Log = types.ErrMalformed.Code, "only the last committed height can be queried"
			return res, nil
		}
		return a.queryRange(v, req, res)
	case req.Path == "/key":
		key = req.Data
	case req.Path == types.CertIndexPath || strings.HasPrefix(req.Path, types.CertIndexPath+"/"):
		data := req.Data
		if arg, ok := strings.CutPrefix(req.Path, types.CertIndexPath+"/"); ok {
			var err error
			if data, err = hex.DecodeString(arg); err != nil {
				res.Code, res.Log = types.ErrMalformed.Code, types.CertIndexPath+"/<hex>: "+err.Error()
				return res, nil
			}
		}
		idx, err := a.certIndexOf(data)
		if err != nil {
			res.Code, res.Log = types.ErrMalformed.Code, err.Error()
			return res, nil
		}
		key = types.KeyCert(idx)
	case strings.HasPrefix(req.Path, "/") && len(req.Path) > 1:
		key = []byte(req.Path[1:])
	default:
		res.Code, res.Log = types.ErrMalformed.Code, "query path must be /key, "+types.CertIndexPath+" or /<store key>"
		return res, nil
	}
	if req.Height != 0 && req.Height != height {
		res.Code, res.Log = types.ErrMalformed.Code, "only the last committed height can be queried"
		return res, nil
	}
	res.Key = key
	if !req.Prove {
		val, err := v.Get(key)
		if err != nil {
			return nil, err
		}
		res.Value = val
		if val == nil {
			res.Log = "not found"
		}
		return res, nil
	}
	val, _, ops, err := v.Prove(key)
	if err != nil {
		return nil, err
	}
	res.Value, res.ProofOps = val, ops
	if val == nil {
		res.Log = "not found"
	}
	return res, nil
}

// certIndexOf is the index of the certificate data names.
func (a *App) certIndexOf(data []byte) ([]byte, error) {
	if len(data) > 0 && data[0] == 0x30 { // an X.509 certificate is a DER SEQUENCE
		cert, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("certificate: %v", err)
		}
		id := jpki.IDOf(cert)
		return a.pk.CertIndex(id.Issuer, id.Serial), nil
	}
	var ref types.CertRef
	if err := ref.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("%s wants a certificate (DER) or a CertRef: %v", types.CertIndexPath, err)
	}
	x := &exec{app: a}
	_, idx, err := x.normalizeCertRef(&ref)
	return idx, err
}

// queryRange lists records by key prefix (RangeQuery in Data), each with
// its proof when asked, all at the answer's height. When the prefix is a
// counted directory (types.Counted) every page also carries the
// directory's count record, proved (or its absence proved) when asked, so
// that a client paging through the whole range can tell that no record was
// left out.
func (a *App) queryRange(v *store.View, req *abci.QueryRequest, res *abci.QueryResponse) (*abci.QueryResponse, error) {
	var q types.RangeQuery
	if err := q.Unmarshal(req.Data); err != nil {
		res.Code, res.Log = types.ErrMalformed.Code, "range query: "+err.Error()
		return res, nil
	}
	limit := int(q.Limit)
	if limit <= 0 || limit > types.MaxRangeLimit {
		limit = types.MaxRangeLimit
	}
	var (
		out  types.RangeResult
		ierr error
	)
	err := v.IterateFrom([]byte(q.Prefix), []byte(q.StartAfter), func(k, val []byte) bool {
		if len(out.Records) == limit {
			out.Next = out.Records[len(out.Records)-1].Key
			return true
		}
		rec := &types.RangeRecord{Key: string(k), Value: val}
		if req.Prove {
			_, _, ops, err := v.Prove(k)
			if err != nil {
				ierr = err
				return true
			}
			if rec.ProofOps, err = ops.Marshal(); err != nil {
				ierr = err
				return true
			}
		}
		out.Records = append(out.Records, rec)
		return false
	})
	if err == nil {
		err = ierr
	}
	if err == nil && types.Counted(q.Prefix) {
		out.Count, err = rangeCount(v, q.Prefix, req.Prove)
	}
	if err != nil {
		return nil, err
	}
	bz, err := out.Marshal()
	if err != nil {
		return nil, err
	}
	res.Key, res.Value = []byte(q.Prefix), bz
	return res, nil
}

// rangeCount reads the count record of the counted directory dir, with
// the proof of its value or absence when prove is set.
func rangeCount(v *store.View, dir string, prove bool) (*types.RangeCount, error) {
	key := types.CountKey(dir)
	rc := &types.RangeCount{Key: key}
	if !prove {
		val, err := v.Get([]byte(key))
		rc.Value = val
		return rc, err
	}
	val, _, ops, err := v.Prove([]byte(key))
	if err != nil {
		return nil, err
	}
	rc.Value = val
	if rc.ProofOps, err = ops.Marshal(); err != nil {
		return nil, err
	}
	return rc, nil
}
