package cli

import (
	"fmt"
	"io"
	"runtime"

	cmtversion "github.com/cometbft/cometbft/version"
	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app"
)

func versionCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the versions of mykeyd, the ledger protocol and CometBFT",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := struct {
				Mykeyd      string `json:"mykeyd"`
				AppProtocol uint64 `json:"app_protocol"`
				CometBFT    string `json:"cometbft"`
				Go          string `json:"go"`
			}{app.Version, app.AppProtocolVersion, cmtversion.CMTSemVer, runtime.Version()}
			return e.print(asJSON, v, func(w io.Writer) {
				fmt.Fprintf(w, "mykeyd %s (app protocol %d, CometBFT %s, %s)\n", v.Mykeyd, v.AppProtocol, v.CometBFT, v.Go)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
