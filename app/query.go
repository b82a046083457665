package app

import (
	"context"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

// Query serves committed records. The path names the record's store key
// ("/provider/paypay", "/link/<program>/<mykey>", "/charge/<program>/<provider>/<ref>",
// see keys.go), or is "/key" with the raw key in Data. With Prove the answer
// carries ProofOps that verify the value (or its absence) against the app
// hash of the returned height, which the header at height+1 holds.
// Queries always answer from the last committed state; Height must be 0
// or that height.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	height := a.store.Height()
	res := &abci.QueryResponse{Codespace: Codespace, Height: height}
	var key []byte
	switch {
	case req.Path == "/range":
		if req.Height != 0 && req.Height != height {
			res.Code, res.Log = ErrMalformed.Code, "only the last committed height can be queried"
			return res, nil
		}
		return a.queryRange(req, res)
	case req.Path == "/key":
		key = req.Data
	case strings.HasPrefix(req.Path, "/") && len(req.Path) > 1:
		key = []byte(req.Path[1:])
	default:
		res.Code, res.Log = ErrMalformed.Code, "query path must be /key or /<store key>"
		return res, nil
	}
	if req.Height != 0 && req.Height != height {
		res.Code, res.Log = ErrMalformed.Code, "only the last committed height can be queried"
		return res, nil
	}
	res.Key = key
	if !req.Prove {
		v, err := a.store.Get(key)
		if err != nil {
			return nil, err
		}
		res.Value = v
		if v == nil {
			res.Log = "not found"
		}
		return res, nil
	}
	v, _, ops, err := a.store.Prove(key)
	if err != nil {
		return nil, err
	}
	res.Value, res.ProofOps = v, ops
	if v == nil {
		res.Log = "not found"
	}
	return res, nil
}

// MaxRangeLimit bounds the records of one "/range" answer.
const MaxRangeLimit = 1000

// queryRange lists records by key prefix (RangeQuery in Data), each with
// its proof when asked, all at the answer's height.
func (a *App) queryRange(req *abci.QueryRequest, res *abci.QueryResponse) (*abci.QueryResponse, error) {
	var q types.RangeQuery
	if err := q.Unmarshal(req.Data); err != nil {
		res.Code, res.Log = ErrMalformed.Code, "range query: "+err.Error()
		return res, nil
	}
	limit := int(q.Limit)
	if limit <= 0 || limit > MaxRangeLimit {
		limit = MaxRangeLimit
	}
	var (
		out  types.RangeResult
		ierr error
	)
	err := a.store.IterateFrom([]byte(q.Prefix), []byte(q.StartAfter), func(k, v []byte) bool {
		if len(out.Records) == limit {
			out.Next = out.Records[len(out.Records)-1].Key
			return true
		}
		rec := &types.RangeRecord{Key: string(k), Value: v}
		if req.Prove {
			_, _, ops, err := a.store.Prove(k)
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
