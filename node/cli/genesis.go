package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
)

func genesisCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Build and check genesis files",
	}
	cmd.AddCommand(genesisBuildCmd(e), genesisValidateCmd(e))
	return cmd
}

func genesisBuildCmd(e *env) *cobra.Command {
	var (
		chainID, appState, out, when, pkFile string
		production                           bool
	)
	cmd := &cobra.Command{
		Use:   "build --chain-id ID --app-state FILE --out genesis.json",
		Short: "Build a genesis.json from an app_state JSON file",
		Long: `build reads the app_state (government keys and threshold, providers with
their grant and validator keys, programs, trust anchors; see package genesis)
from FILE, validates it, derives the CometBFT validators from it and writes
genesis.json. If the app state lists no trust_anchors, the real J-LIS
user-authentication CA roots are used (--production-anchors), so that real My
Number Cards can link. Validator keys are what show-validator prints. If the
app state has no pseudonym_commitment, --pseudonym-key names the network
pseudonym key file whose commitment to write (init prints it too).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			bz, err := os.ReadFile(appState)
			if err != nil {
				return err
			}
			var st types.GenesisState
			dec := json.NewDecoder(bytes.NewReader(bz))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&st); err != nil {
				return fmt.Errorf("%s: %w", appState, err)
			}
			if len(st.TrustAnchors) == 0 && production {
				st.TrustAnchors = genesis.ProductionTrustAnchors()
				e.msg("trust anchors: the J-LIS user-authentication CA roots")
			}
			if len(st.PseudonymCommitment) == 0 && pkFile != "" {
				key, err := pseudonym.LoadFile(pkFile)
				if err != nil {
					return err
				}
				st.PseudonymCommitment = pseudonym.Commitment(key)
			}
			t := time.Now().UTC().Truncate(time.Second)
			if when != "" {
				if t, err = time.Parse(time.RFC3339, when); err != nil {
					return fmt.Errorf("--genesis-time: %w", err)
				}
			}
			doc := &genesis.Document{ChainID: chainID, GenesisTime: t, AppState: st}
			if err := doc.Save(out); err != nil {
				return err
			}
			e.msg("wrote %s (chain %s, %d validators)", out, chainID, len(genesis.Validators(&st)))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&chainID, "chain-id", "", "chain ID (required)")
	f.StringVar(&appState, "app-state", "", "app_state JSON file (required)")
	f.StringVar(&out, "out", "genesis.json", "genesis file to write")
	f.StringVar(&when, "genesis-time", "", "genesis time, RFC 3339 (default now)")
	f.StringVar(&pkFile, "pseudonym-key", "", "network pseudonym key file whose commitment genesis holds, if the app state has none")
	f.BoolVar(&production, "production-anchors", true, "trust the J-LIS roots when the app state lists no trust_anchors")
	_ = cmd.MarkFlagRequired("chain-id")
	_ = cmd.MarkFlagRequired("app-state")
	return cmd
}

func genesisValidateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a genesis.json and print a summary",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			doc, err := genesis.Load(args[0])
			if err != nil {
				return err
			}
			st := doc.AppState
			fmt.Fprintf(e.stdout, "chain %s, genesis time %s\n", doc.ChainID, doc.GenesisTime.Format(time.RFC3339))
			fmt.Fprintf(e.stdout, "government: %d of %d keys\n", st.Government.Threshold, len(st.Government.Keys))
			for _, v := range genesis.Validators(&st) {
				fmt.Fprintf(e.stdout, "validator %-12s power %d\n", v.Name, v.Power)
			}
			for _, p := range st.Programs {
				fmt.Fprintf(e.stdout, "program %s (%s)\n", p.ID, p.Kind)
			}
			fmt.Fprintf(e.stdout, "%d trust anchors\n", len(st.TrustAnchors))
			nodes := len(st.Government.NodeIDs)
			for _, p := range st.Providers {
				nodes += len(p.NodeIDs)
			}
			if nodes == 0 {
				// Every node mykeyd sets up filters its peers by the ledger.
				fmt.Fprintln(e.stdout, "no node_ids: nodes with filter_peers = true (mykeyd's default) admit no peer; list each operator's node IDs (mykeyd show-node-id)")
			} else {
				fmt.Fprintf(e.stdout, "%d registered P2P node IDs\n", nodes)
			}
			return nil
		},
	}
}
