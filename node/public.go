package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"

	"github.com/mykeyledger/mykey/app/types"
)

// The public endpoint. Blocks and transactions carry citizens'
// certificates, so they stay with the validators, on CometBFT's full RPC
// (rpc.laddr, loopback by default). The public reads, on an address of its
// own (mykey.public_laddr), what an audit needs and nothing more: headers,
// commits and validator sets, which CometBFT's light client verifies, and
// the app's proved state, only the records types.PublicKey allows. It is
// CometBFT's own JSON-RPC server (POST, single and batch, and URI GET) over
// a subset of its routes, without websocket.

// PublicRoutes are the CometBFT RPC routes the public endpoint serves, all
// answered as on the full RPC except abci_query, which is gated, and
// status, which leaves out the node's addresses.
var PublicRoutes = []string{
	"health",
	"status",
	"abci_info",
	"abci_query",
	"genesis",
	"genesis_chunked",
	"header",
	"header_by_hash",
	"commit",
	"validators",
	// State sync's light client reads the consensus parameters of the
	// height it restores: block and evidence limits, key types, nothing
	// of any transaction.
	"consensus_params",
}

// ErrNotPublic is the error of an abci_query the public endpoint refuses.
var ErrNotPublic = errors.New("not served on the public endpoint")

// publicRoutes builds the public endpoint's routes from env.
func publicRoutes(env *rpccore.Environment) map[string]*rpcserver.RPCFunc {
	all := env.GetRoutes()
	routes := make(map[string]*rpcserver.RPCFunc, len(PublicRoutes))
	for _, name := range PublicRoutes {
		routes[name] = all[name]
	}
	routes["abci_query"] = rpcserver.NewRPCFunc(publicQuery(env), "path,data,height,prove")
	routes["status"] = rpcserver.NewRPCFunc(publicStatus(env), "")
	if publicTestHook != nil {
		publicTestHook(env, routes)
	}
	return routes
}

// publicTestHook, set only in builds with the mykeytestleak tag, changes
// the public routes so that tests can show a leak is detected.
var publicTestHook func(env *rpccore.Environment, routes map[string]*rpcserver.RPCFunc)

// publicQuery is abci_query for the public: it passes a query on to the
// app only when every record it can return is public.
func publicQuery(env *rpccore.Environment) func(*rpctypes.Context, string, cmtbytes.HexBytes, int64, bool) (*ctypes.ResultABCIQuery, error) {
	return func(ctx *rpctypes.Context, path string, data cmtbytes.HexBytes, height int64, prove bool) (*ctypes.ResultABCIQuery, error) {
		if err := CheckPublicQuery(path, data); err != nil {
			return notPublic(err), nil
		}
		res, err := env.ABCIQuery(ctx, path, data, height, prove)
		if err != nil || path != "/range" || res.Response.Code != 0 {
			return res, err
		}
		if err := checkPublicRange(res.Response.Value); err != nil {
			return notPublic(err), nil
		}
		return res, nil
	}
}

// notPublic is the answer to a refused query: an ABCI answer with the
// ledger's code not_public, as the app answers any query it will not
// serve, so that clients tell "not here" from a failing node.
func notPublic(err error) *ctypes.ResultABCIQuery {
	return &ctypes.ResultABCIQuery{Response: abci.QueryResponse{
		Code: types.ErrNotPublic.Code, Codespace: types.Codespace, Log: err.Error()}}
}

// checkPublicRange checks that every record of a range answer is public:
// a range over a single public record's key ("gov") could otherwise run
// into a private record whose key it begins.
func checkPublicRange(value []byte) error {
	var rr types.RangeResult
	if err := rr.Unmarshal(value); err != nil {
		return fmt.Errorf("abci_query /range: %w", err)
	}
	for _, r := range rr.Records {
		if !types.PublicKey(r.Key) {
			return fmt.Errorf("abci_query /range: its answer holds record %q, which is %w", r.Key, ErrNotPublic)
		}
	}
	if rr.Count != nil && !types.PublicKey(rr.Count.Key) {
		return fmt.Errorf("abci_query /range: its answer holds count %q, which is %w", rr.Count.Key, ErrNotPublic)
	}
	return nil
}

// publicStatus is status without the node's own addresses (its P2P
// listen address and its full RPC's), which concern its peers and its
// operator, not the public. The light client reads only the chain ID and
// the heights.
func publicStatus(env *rpccore.Environment) func(*rpctypes.Context) (*ctypes.ResultStatus, error) {
	return func(ctx *rpctypes.Context) (*ctypes.ResultStatus, error) {
		st, err := env.Status(ctx)
		if err != nil {
			return nil, err
		}
		st.NodeInfo.ListenAddr = ""
		st.NodeInfo.Other.RPCAddress = ""
		return st, nil
	}
}

// CheckPublicQuery reports whether the public endpoint answers an ABCI
// query: "/<key>" and "/key" (the key in data) of a public record, and
// "/range" over a prefix inside one public directory or over a public
// record's key (whose answer is then checked to hold only public records).
// Other paths (the certificate index, CometBFT's "/p2p/…" filters) are
// refused.
func CheckPublicQuery(path string, data []byte) error {
	switch {
	case path == "/range":
		var q types.RangeQuery
		if err := q.Unmarshal(data); err != nil {
			return fmt.Errorf("abci_query /range: %w", err)
		}
		if !types.PublicPrefix(q.Prefix) && !types.PublicKey(q.Prefix) {
			return fmt.Errorf("abci_query /range over prefix %q: %w (public directories: %v)", q.Prefix, ErrNotPublic, types.PublicRoots)
		}
		return nil
	case path == "/key":
		if !types.PublicKey(string(data)) {
			return fmt.Errorf("abci_query of record %q: %w", data, ErrNotPublic)
		}
		return nil
	case len(path) > 1 && path[0] == '/':
		if !types.PublicKey(path[1:]) {
			return fmt.Errorf("abci_query of record %q: %w", path[1:], ErrNotPublic)
		}
		return nil
	}
	return fmt.Errorf("abci_query path %q: %w (only /<record key>, /key and /range)", path, ErrNotPublic)
}

// publicServer is a running public endpoint.
type publicServer struct {
	srv *http.Server
	l   net.Listener
}

// startPublic serves the public endpoint on laddr ("tcp://host:port").
func (n *Node) startPublic(laddr string) error {
	hp, err := listenHostPort(laddr)
	if err != nil {
		return fmt.Errorf("node: mykey.public_laddr: %w", err)
	}
	env, err := n.comet.ConfigureRPC()
	if err != nil {
		return fmt.Errorf("node: public endpoint: %w", err)
	}
	routes := publicRoutes(env)
	mux := http.NewServeMux()
	logger := n.logger.With("module", "public-rpc")
	rpcserver.RegisterRPCFuncs(mux, routes, logger)
	rc := n.cfg.Comet.RPC
	config := rpcserver.DefaultConfig()
	config.MaxRequestBatchSize = rc.MaxRequestBatchSize
	config.MaxBodyBytes = rc.MaxBodyBytes
	config.MaxHeaderBytes = rc.MaxHeaderBytes
	config.MaxOpenConnections = rc.MaxOpenConnections
	l, err := rpcserver.Listen("tcp://"+hp, config.MaxOpenConnections)
	if err != nil {
		return fmt.Errorf("node: public endpoint: %w", err)
	}
	// rpcserver.Serve builds its http.Server out of reach; this is the
	// same server with the same middleware, kept so Stop can shut it down.
	srv := &http.Server{
		Handler:           rpcserver.PreChecksHandler(rpcserver.RecoverAndLogHandler(mux, logger), config),
		ReadTimeout:       config.ReadTimeout,
		ReadHeaderTimeout: config.ReadTimeout,
		WriteTimeout:      config.WriteTimeout,
		MaxHeaderBytes:    config.MaxHeaderBytes,
	}
	n.public = &publicServer{srv: srv, l: l}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logger.Error("public endpoint stopped", "err", err)
		}
	}()
	names := make([]string, 0, len(routes))
	for name := range routes {
		names = append(names, name)
	}
	sort.Strings(names)
	n.logger.Info("public endpoint started", "laddr", "tcp://"+l.Addr().String(), "routes", names)
	return nil
}

func (n *Node) stopPublic() {
	if n.public != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = n.public.srv.Shutdown(ctx)
		_ = n.public.l.Close()
		n.public = nil
	}
}
