package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/app/types"
)

func newGovRevokeCmd(c *cmdCtx) *cobra.Command {
	var certs []string
	var reason string
	return actionCmd(c, "revoke --cert FILE... --reason TEXT",
		"Revoke card certificates: they can no longer link",
		"Certificates are named by a PEM or DER file. (The ledger keeps no certificate names, only a keyed hash of them, so it cannot name a certificate for you.)",
		func(fs *pflag.FlagSet) {
			fs.StringArrayVar(&certs, "cert", nil, "certificate file (PEM or DER); repeatable")
			fs.StringVar(&reason, "reason", "", "why (printable text)")
		},
		func(ctx context.Context) (*types.GovAction, error) {
			if len(certs) == 0 || reason == "" {
				return nil, usageErr("give at least one --cert, and --reason")
			}
			r := &types.RevokeCertificates{Reason: reason}
			for _, f := range certs {
				ref, err := certRefFromFile(f)
				if err != nil {
					return nil, err
				}
				r.Certificates = append(r.Certificates, ref)
			}
			return &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: r}}, nil
		})
}

func newGovSuccessionCmd(c *cmdCtx) *cobra.Command {
	var oldCert, newCert, reason string
	return actionCmd(c, "succession --old-cert FILE --new-cert FILE --reason TEXT",
		"Record that a renewed or reissued certificate belongs to the same person",
		"Both certificates then map to one MyKey ID. If both had been used, the older ID wins, the later linkage is voided and any grant above the cap is recorded as an over-grant.",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&oldCert, "old-cert", "", "the old certificate (PEM or DER file)")
			fs.StringVar(&newCert, "new-cert", "", "the new certificate (PEM or DER file)")
			fs.StringVar(&reason, "reason", "", "why (printable text)")
		},
		func(ctx context.Context) (*types.GovAction, error) {
			if reason == "" {
				return nil, usageErr("--reason is required")
			}
			o, err := certRef("--old-cert", oldCert)
			if err != nil {
				return nil, err
			}
			n, err := certRef("--new-cert", newCert)
			if err != nil {
				return nil, err
			}
			return &types.GovAction{Action: &types.GovAction_Succession{Succession: &types.Succession{OldCert: o, NewCert: n, Reason: reason}}}, nil
		})
}

// certRefFromFile names the certificate in a PEM or DER file.
func certRefFromFile(path string) (*types.CertRef, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if b, _ := pem.Decode(bz); b != nil {
		bz = b.Bytes
	}
	cert, err := x509.ParseCertificate(bz)
	if err != nil {
		return nil, usageErr("%s is not a certificate (PEM or DER): %v", path, err)
	}
	return &types.CertRef{Issuer: cert.RawIssuer, Serial: cert.SerialNumber.Bytes()}, nil
}

func certRef(flag, file string) (*types.CertRef, error) {
	if file == "" {
		return nil, usageErr("give %s FILE (the ledger keeps no certificate names, so a certificate is named by its file)", flag)
	}
	return certRefFromFile(file)
}
