package app

import (
	"context"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
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
