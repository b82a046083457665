package node

import (
	"context"
	"fmt"
	"os"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
)

// CrashAfterFinalizeEnv names the environment variable of the test-only
// crash hook: when it holds a height H, mykeyd exits the process with
// CrashExitCode right after the app's FinalizeBlock of height H returns,
// before CometBFT saves that block's results and calls Commit. It stands
// for a node that dies between executing a block and committing it
// (node/e2e's TestCrashBetweenFinalizeAndCommit). Never set it on a real
// node.
const CrashAfterFinalizeEnv = "MYKEY_TEST_CRASH_AFTER_FINALIZE"

// CrashExitCode is the exit status of a process stopped by the crash hook.
const CrashExitCode = 86

// crashHookFromEnv reads CrashAfterFinalizeEnv: 0 if it is unset or
// empty, an error if it is not a positive height.
func crashHookFromEnv() (int64, error) {
	v := os.Getenv(CrashAfterFinalizeEnv)
	if v == "" {
		return 0, nil
	}
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h <= 0 {
		return 0, fmt.Errorf("node: %s=%q: want a positive block height", CrashAfterFinalizeEnv, v)
	}
	return h, nil
}

// crashHook wraps the application to exit the process after the
// FinalizeBlock of one height. Every other method is forwarded unchanged.
type crashHook struct {
	abci.Application
	height int64
	logger log.Logger
	exit   func(code int) // os.Exit, but for the wrapper's own test
}

// withCrashHook returns app exiting the process with CrashExitCode after
// its FinalizeBlock of height h has returned without error.
func withCrashHook(app abci.Application, h int64, logger log.Logger, exit func(int)) abci.Application {
	return &crashHook{Application: app, height: h, logger: logger, exit: exit}
}

func (a *crashHook) FinalizeBlock(ctx context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	res, err := a.Application.FinalizeBlock(ctx, req)
	if err == nil && req.Height == a.height {
		// mykeyd's logger writes each line straight to stderr, unbuffered;
		// the Sync is for a stderr redirected to a file.
		a.logger.Error(fmt.Sprintf("crash hook: exiting after FinalizeBlock of height %d", req.Height),
			"env", CrashAfterFinalizeEnv, "exit_code", CrashExitCode)
		_ = os.Stderr.Sync()
		a.exit(CrashExitCode)
	}
	return res, err
}
