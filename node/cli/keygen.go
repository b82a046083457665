package cli

import (
	"encoding/hex"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/internal/keyfile"
)

func keygenCmd(e *env) *cobra.Command {
	var role, id, out string
	cmd := &cobra.Command{
		Use:   "keygen --role provider|government --id ID --out FILE",
		Short: "Make a provider grant key or a government authority key",
		Long: `keygen writes a new ed25519 key file (mode 0600) for the mykey client: a
provider's grant key (it signs grants and link batches) or one government
authority key (k of n of them sign government actions). It prints the public
key, which genesis lists (providers[].grant_key, government.keys[]). Keep the
file secret; it is not the node's validator key (that one is made by init).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if role != keyfile.RoleProvider && role != keyfile.RoleGovernment {
				return fmt.Errorf("--role must be %q or %q", keyfile.RoleProvider, keyfile.RoleGovernment)
			}
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s exists; choose another --out", out)
			}
			k, err := keyfile.Generate(role, id)
			if err != nil {
				return err
			}
			if err := keyfile.Save(out, k); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, hex.EncodeToString(k.Public()))
			e.msg("wrote %s (%s key %q); the line above is its public key", out, role, id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", keyfile.RoleProvider, "provider or government")
	f.StringVar(&id, "id", "", "provider ID, or a label for a government key holder (required)")
	f.StringVar(&out, "out", "", "key file to write (required)")
	_ = cmd.MarkFlagRequired("id")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
