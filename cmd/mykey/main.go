// Command mykey is the MyKey Ledger client for citizens, providers, the
// government and auditors: link a My Number Card, record grants, sign and
// send government actions, and read the ledger. See `mykey --help` and
// package client/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mykeyledger/mykey/client/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
