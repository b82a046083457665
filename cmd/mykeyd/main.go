// Command mykeyd is the MyKey Ledger node that the government and every
// payment provider run: CometBFT with the ledger in-process. See
// `mykeyd --help` and README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mykeyledger/mykey/node/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mykeyd:", err)
		os.Exit(1)
	}
}
