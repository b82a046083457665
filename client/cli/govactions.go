package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/chargecsv"
	"github.com/mykeyledger/mykey/client/txbuild"
)

const keyHelp = "hex, base64, a mykey key file, or a CometBFT priv_validator_key.json"

func newGovRegisterProviderCmd(c *cmdCtx) *cobra.Command {
	var id, name, grantKey, valKey string
	var power int64
	return actionCmd(c, "register-provider --id ID --name NAME --grant-key KEY [--validator-key KEY --power N]",
		"Register a payment provider", "",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&id, "id", "", "provider ID")
			fs.StringVar(&name, "name", "", "provider name")
			fs.StringVar(&grantKey, "grant-key", "", "the provider's ed25519 grant public key: "+keyHelp)
			fs.StringVar(&valKey, "validator-key", "", "the provider's CometBFT validator public key: "+keyHelp)
			fs.Int64Var(&power, "power", 0, "validator voting power (with --validator-key)")
		},
		func(context.Context) (*types.GovAction, error) {
			if !txbuild.ValidID(id) || name == "" {
				return nil, usageErr("--id (an ID) and --name are required")
			}
			gk, err := parsePubKey("--grant-key", grantKey, true)
			if err != nil {
				return nil, err
			}
			vk, err := parsePubKey("--validator-key", valKey, false)
			if err != nil {
				return nil, err
			}
			p := &types.Provider{Id: id, Name: name, GrantKey: gk, ValidatorKey: vk, Power: power,
				Status: types.ProviderStatus_PROVIDER_STATUS_ACTIVE}
			if err := types.CheckProvider(p); err != nil {
				return nil, usageErr("%v", err)
			}
			return &types.GovAction{Action: &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{Provider: p}}}, nil
		})
}

func newGovUpdateProviderCmd(c *cmdCtx) *cobra.Command {
	var id, status, grantKey, valKey string
	var power int64
	var fs *pflag.FlagSet
	return actionCmd(c, "update-provider --id ID [--status active|suspended] [--grant-key KEY] [--validator-key KEY] [--power N]",
		"Suspend or reactivate a provider, rotate its keys, or change its validator power", "",
		func(f *pflag.FlagSet) {
			fs = f
			f.StringVar(&id, "id", "", "provider ID")
			f.StringVar(&status, "status", "", "active or suspended")
			f.StringVar(&grantKey, "grant-key", "", "a new grant public key: "+keyHelp)
			f.StringVar(&valKey, "validator-key", "", "a new validator public key: "+keyHelp)
			f.Int64Var(&power, "power", 0, "a new validator voting power (0 removes the validator)")
		},
		func(context.Context) (*types.GovAction, error) {
			if !txbuild.ValidID(id) {
				return nil, usageErr("--id is required")
			}
			u := &types.UpdateProvider{ProviderId: id, SetPower: fs.Changed("power"), Power: power}
			switch status {
			case "":
			case "active":
				u.Status = types.ProviderStatus_PROVIDER_STATUS_ACTIVE
			case "suspended":
				u.Status = types.ProviderStatus_PROVIDER_STATUS_SUSPENDED
			default:
				return nil, usageErr("--status is active or suspended, not %q", status)
			}
			var err error
			if u.GrantKey, err = parsePubKey("--grant-key", grantKey, false); err != nil {
				return nil, err
			}
			if u.ValidatorKey, err = parsePubKey("--validator-key", valKey, false); err != nil {
				return nil, err
			}
			if u.Status == types.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED && u.GrantKey == nil && u.ValidatorKey == nil && !u.SetPower {
				return nil, usageErr("nothing to update: give --status, --grant-key, --validator-key or --power")
			}
			return &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: u}}, nil
		})
}

func newGovSetProgramCmd(c *cmdCtx) *cobra.Command {
	var (
		file                   string
		p                      types.GenesisProgram
		start, end             string
		linkStart, linkEnd     string
		grantStart, grantEnd   string
		kind                   string
		rate, capYen, fixedYen int64
		budget                 int64
	)
	return actionCmd(c, "set-program (--file PROGRAM.json | --id ID --name NAME --kind KIND ... --start T --end T)",
		"Add a program or change one (its counters are kept)",
		`set-program takes the program as a JSON file in the genesis format:
  {"id": "mynapoint2", "name": "MyNa Point 2", "kind": "fixed", "fixed_yen": 7500,
   "budget_yen": 100000000, "link_start": "2025-01-01T00:00:00Z", ...}
or as flags. Kinds: percent_of_charge (--rate-bp, --cap-yen) and fixed
(--fixed-yen). --start and --end set both the link and the grant window;
--link-start/--link-end/--grant-start/--grant-end set one. Times are
RFC 3339 or Unix seconds.`,
		func(fs *pflag.FlagSet) {
			fs.StringVar(&file, "file", "", "program JSON file (genesis format)")
			fs.StringVar(&p.ID, "id", "", "program ID")
			fs.StringVar(&p.Name, "name", "", "program name")
			fs.StringVar(&kind, "kind", "", "percent_of_charge or fixed")
			fs.Int64Var(&rate, "rate-bp", 0, "percent_of_charge: rate in basis points (2500 = 25 %)")
			fs.Int64Var(&capYen, "cap-yen", 0, "most a person can be granted")
			fs.Int64Var(&fixedYen, "fixed-yen", 0, "fixed: the amount per attested person")
			fs.Int64Var(&budget, "budget-yen", 0, "the program's budget")
			fs.StringVar(&start, "start", "", "start of both windows")
			fs.StringVar(&end, "end", "", "end of both windows")
			fs.StringVar(&linkStart, "link-start", "", "links accepted from")
			fs.StringVar(&linkEnd, "link-end", "", "links accepted until")
			fs.StringVar(&grantStart, "grant-start", "", "grants accepted from")
			fs.StringVar(&grantEnd, "grant-end", "", "grants accepted until")
		},
		func(context.Context) (*types.GovAction, error) {
			prog := p
			if file != "" {
				bz, err := os.ReadFile(file)
				if err != nil {
					return nil, usageErr("%v", err)
				}
				dec := json.NewDecoder(strings.NewReader(string(bz)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&prog); err != nil {
					return nil, usageErr("%s: %v", file, err)
				}
			} else {
				prog.Kind, prog.RateBP, prog.CapYen, prog.FixedYen, prog.BudgetYen = kind, rate, capYen, fixedYen, budget
				for _, t := range []struct {
					dst  *time.Time
					vals []string
					name string
				}{
					{&prog.LinkStart, []string{linkStart, start}, "--link-start (or --start)"},
					{&prog.LinkEnd, []string{linkEnd, end}, "--link-end (or --end)"},
					{&prog.GrantStart, []string{grantStart, start}, "--grant-start (or --start)"},
					{&prog.GrantEnd, []string{grantEnd, end}, "--grant-end (or --end)"},
				} {
					v := t.vals[0]
					if v == "" {
						v = t.vals[1]
					}
					if v == "" {
						return nil, usageErr("%s is required", t.name)
					}
					sec, err := chargecsv.ParseTime(v)
					if err != nil {
						return nil, usageErr("%s: %v", t.name, err)
					}
					*t.dst = time.Unix(sec, 0).UTC()
				}
			}
			pp, err := prog.Proto()
			if err != nil {
				return nil, usageErr("%v", err)
			}
			if err := types.CheckProgram(pp); err != nil {
				return nil, usageErr("%v", err)
			}
			return &types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: pp}}}, nil
		})
}

func newGovAttestCmd(c *cmdCtx) *cobra.Command {
	var program, file string
	var ids []string
	return actionCmd(c, "attest --program ID (--mykey ID... | --mykey-file FILE)",
		"Attest people eligible for a fixed program",
		"--mykey-file holds one MyKey ID per line (# starts a comment).",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&program, "program", "", "the fixed program")
			fs.StringArrayVar(&ids, "mykey", nil, "MyKey ID; repeatable")
			fs.StringVar(&file, "mykey-file", "", "file of MyKey IDs, one per line")
		},
		func(context.Context) (*types.GovAction, error) {
			if !txbuild.ValidID(program) {
				return nil, usageErr("--program is required")
			}
			if file != "" {
				more, err := readIDs(file)
				if err != nil {
					return nil, err
				}
				ids = append(ids, more...)
			}
			if len(ids) == 0 {
				return nil, usageErr("give --mykey or --mykey-file")
			}
			for _, id := range ids {
				if !txbuild.ValidMyKeyID(id) {
					return nil, usageErr("%q is not a MyKey ID", id)
				}
			}
			return &types.GovAction{Action: &types.GovAction_AttestEligibility{AttestEligibility: &types.AttestEligibility{ProgramId: program, MykeyIds: ids}}}, nil
		})
}

func newGovSettleCmd(c *cmdCtx) *cobra.Command {
	var program, provider, ref string
	var amount int64
	return actionCmd(c, "settle --program ID --provider ID --amount YEN --reference REF",
		"Record what the government reimbursed a provider",
		"The amount may not exceed what is outstanding (granted − settled − recovered): see mykey query totals.",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&program, "program", "", "program ID")
			fs.StringVar(&provider, "provider", "", "provider ID")
			fs.Int64Var(&amount, "amount", 0, "yen reimbursed")
			fs.StringVar(&ref, "reference", "", "the payment's reference")
		},
		func(context.Context) (*types.GovAction, error) {
			if !txbuild.ValidID(program) || !txbuild.ValidID(provider) || amount <= 0 || ref == "" {
				return nil, usageErr("--program, --provider, a positive --amount and --reference are required")
			}
			return &types.GovAction{Action: &types.GovAction_Settle{Settle: &types.Settle{ProgramId: program, ProviderId: provider, AmountYen: amount, Reference: ref}}}, nil
		})
}

func newGovCorrectCmd(c *cmdCtx) *cobra.Command {
	var program, mykey, moveTo, account, commitment, incident string
	var void bool
	return actionCmd(c, "correct-linkage --program ID --mykey ID (--void | --move-to PROVIDER (--account TOKEN | --account-commitment HEX)) --incident REF",
		"Void a wrong linkage, or move it to the right provider account",
		"The linkage's history stays visible (mykey query link shows the current state).",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&program, "program", "", "program ID")
			fs.StringVar(&mykey, "mykey", "", "the person's MyKey ID")
			fs.BoolVar(&void, "void", false, "void the linkage")
			fs.StringVar(&moveTo, "move-to", "", "move the linkage to this provider")
			fs.StringVar(&account, "account", "", "with --move-to: the right account's link token")
			fs.StringVar(&commitment, "account-commitment", "", "with --move-to: the right account's commitment (hex SHA-256 of its token)")
			fs.StringVar(&incident, "incident", "", "incident reference")
		},
		func(context.Context) (*types.GovAction, error) {
			if !txbuild.ValidID(program) || !txbuild.ValidMyKeyID(mykey) || incident == "" {
				return nil, usageErr("--program, --mykey and --incident are required")
			}
			k := &types.CorrectLinkage{ProgramId: program, MykeyId: mykey, IncidentRef: incident}
			switch {
			case void && moveTo == "":
				k.Kind = types.CorrectionKind_CORRECTION_KIND_VOID
			case !void && moveTo != "":
				k.Kind, k.ToProviderId = types.CorrectionKind_CORRECTION_KIND_MOVE, moveTo
				switch {
				case account != "" && commitment == "":
					k.ToAccountCommitment = txbuild.Commitment(account)
				case account == "" && commitment != "":
					b, err := hex.DecodeString(commitment)
					if err != nil || len(b) != types.CommitmentLen {
						return nil, usageErr("--account-commitment must be %d bytes of hex", types.CommitmentLen)
					}
					k.ToAccountCommitment = b
				default:
					return nil, usageErr("--move-to needs --account or --account-commitment")
				}
			default:
				return nil, usageErr("give --void or --move-to")
			}
			return &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: k}}, nil
		})
}

func newGovSetNodesCmd(c *cmdCtx) *cobra.Command {
	var owner string
	var ids []string
	var none bool
	return actionCmd(c, "set-nodes --owner (PROVIDER | government) (--node-id ID ... | --none)",
		"Set the P2P nodes an owner runs (its validator's node and its sentries)",
		"The list replaces the owner's previous one. Nodes run with filter_peers = true (mykeyd's default) admit\n"+
			"only registered nodes as peers; a node ID is what `mykeyd show-node-id` prints. A node removed\n"+
			"from the list is refused when it next connects.",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&owner, "owner", "", `provider ID, or "government"`)
			fs.StringArrayVar(&ids, "node-id", nil, "a node ID, 40 hex digits (repeatable)")
			fs.BoolVar(&none, "none", false, "remove every node of the owner")
		},
		func(context.Context) (*types.GovAction, error) {
			if !txbuild.ValidID(owner) {
				return nil, usageErr("--owner is required: a provider ID, or %q", types.GovernmentOwner)
			}
			if none == (len(ids) > 0) {
				return nil, usageErr("give --node-id (one or more) or --none")
			}
			for i, id := range ids {
				ids[i] = strings.ToLower(strings.TrimSpace(id))
			}
			if err := types.ValidateNodeIDs(ids); err != nil {
				return nil, usageErr("--node-id: %v", err)
			}
			return &types.GovAction{Action: &types.GovAction_SetNodes{SetNodes: &types.SetNodes{Owner: owner, NodeIds: ids}}}, nil
		})
}
