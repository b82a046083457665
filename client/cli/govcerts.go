package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
)

func newGovRevokeCmd(c *cmdCtx) *cobra.Command {
	var certs, fps []string
	var reason string
	return actionCmd(c, "revoke (--cert FILE | --fingerprint FP)... --reason TEXT",
		"Revoke card certificates: they can no longer link",
		"Certificates are named by a PEM or DER file, or by the fingerprint the ledger knows them by (mykey card info shows it).",
		func(fs *pflag.FlagSet) {
			fs.StringArrayVar(&certs, "cert", nil, "certificate file (PEM or DER); repeatable")
			fs.StringArrayVar(&fps, "fingerprint", nil, "certificate fingerprint known to the ledger; repeatable")
			fs.StringVar(&reason, "reason", "", "why (printable text)")
		},
		func(ctx context.Context) (*types.GovAction, error) {
			if len(certs)+len(fps) == 0 || reason == "" {
				return nil, usageErr("give at least one --cert or --fingerprint, and --reason")
			}
			r := &types.RevokeCertificates{Reason: reason}
			for _, f := range certs {
				ref, err := certRefFromFile(f)
				if err != nil {
					return nil, err
				}
				r.Certificates = append(r.Certificates, ref)
			}
			for _, fp := range fps {
				ref, err := c.certRefFromLedger(ctx, fp)
				if err != nil {
					return nil, err
				}
				r.Certificates = append(r.Certificates, ref)
			}
			return &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: r}}, nil
		})
}

func newGovSuccessionCmd(c *cmdCtx) *cobra.Command {
	var oldCert, oldFP, newCert, newFP, reason string
	return actionCmd(c, "succession (--old-cert FILE | --old-fingerprint FP) (--new-cert FILE | --new-fingerprint FP) --reason TEXT",
		"Record that a renewed or reissued certificate belongs to the same person",
		"Both certificates then map to one MyKey ID. If both had been used, the older ID wins, the later linkage is voided and any grant above the cap is recorded as an over-grant.",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&oldCert, "old-cert", "", "the old certificate (PEM or DER file)")
			fs.StringVar(&oldFP, "old-fingerprint", "", "the old certificate's fingerprint on the ledger")
			fs.StringVar(&newCert, "new-cert", "", "the new certificate (PEM or DER file)")
			fs.StringVar(&newFP, "new-fingerprint", "", "the new certificate's fingerprint on the ledger")
			fs.StringVar(&reason, "reason", "", "why (printable text)")
		},
		func(ctx context.Context) (*types.GovAction, error) {
			if reason == "" {
				return nil, usageErr("--reason is required")
			}
			o, err := c.certRef(ctx, "--old-cert", oldCert, oldFP)
			if err != nil {
				return nil, err
			}
			n, err := c.certRef(ctx, "--new-cert", newCert, newFP)
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

// certRefFromLedger names a certificate the ledger knows by fingerprint.
func (c *cmdCtx) certRefFromLedger(ctx context.Context, fp string) (*types.CertRef, error) {
	if _, err := c.status(ctx); err != nil {
		return nil, err
	}
	var cr types.CertRecord
	a, err := rpc.Get(ctx, c.n, rpc.KeyCert(strings.ToLower(fp)), &cr, false)
	if err != nil {
		return nil, err
	}
	if !a.Found || cr.Cert == nil {
		return nil, notFound("the ledger knows no certificate with fingerprint %s: name it with its certificate file instead", fp)
	}
	return cr.Cert, nil
}

func (c *cmdCtx) certRef(ctx context.Context, flag, file, fp string) (*types.CertRef, error) {
	switch {
	case file != "" && fp == "":
		return certRefFromFile(file)
	case file == "" && fp != "":
		return c.certRefFromLedger(ctx, fp)
	}
	return nil, usageErr("give %s FILE or %s FP", flag, strings.Replace(flag, "-cert", "-fingerprint", 1))
}
