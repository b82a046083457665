//go:build mykeytestleak

package node

import (
	"encoding/base64"
	"os"

	rpccore "github.com/cometbft/cometbft/rpc/core"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
)

// PublicTestLeakEnv names a certificate file (DER) that a mykeyd built
// with the mykeytestleak tag serves on its public endpoint, base64 in the
// status answer's moniker: a planted leak, which the public endpoint's
// leak test must detect. Ordinary builds have no such hook.
const PublicTestLeakEnv = "MYKEY_TEST_PUBLIC_LEAK"

func init() {
	publicTestHook = func(env *rpccore.Environment, routes map[string]*rpcserver.RPCFunc) {
		path := os.Getenv(PublicTestLeakEnv)
		if path == "" {
			return
		}
		der, err := os.ReadFile(path)
		if err != nil {
			panic(err)
		}
		leak := base64.StdEncoding.EncodeToString(der)
		routes["status"] = rpcserver.NewRPCFunc(func(ctx *rpctypes.Context) (*ctypes.ResultStatus, error) {
			st, err := publicStatus(env)(ctx)
			if err == nil {
				st.NodeInfo.Moniker = leak
			}
			return st, err
		}, "")
	}
}
