package genesis

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

func TestProductionTrustAnchors(t *testing.T) {
	pems := ProductionTrustAnchors()
	if len(pems) != 2 {
		t.Fatalf("got %d production anchors, want 2", len(pems))
	}
	a := validDoc(t).AppState
	a.TrustAnchors = pems
	if err := a.Validate(); err != nil {
		t.Fatalf("app state with the production anchors is invalid: %v", err)
	}
	certs, err := a.Anchors()
	if err != nil {
		t.Fatalf("Anchors: %v", err)
	}
	// Fingerprints as J-LIS lists them.
	want := []struct{ sha256, notAfter string }{
		{"4dcfc4ca0aaf9fb2a3081b3f0c991c320b3acc008667a341eeaec5af1d58ca7d", "2025-10-19"},
		{"64114f29620c24ed2631d46476a040e7ee740d956089c00b036a6a8118c322b5", "2033-07-15"},
	}
	for i, c := range certs {
		sum := sha256.Sum256(c.Raw)
		if got := hex.EncodeToString(sum[:]); got != want[i].sha256 {
			t.Errorf("anchor %d fingerprint %s, want %s", i, got, want[i].sha256)
		}
		if got := c.NotAfter.UTC().Format("2006-01-02"); got != want[i].notAfter {
			t.Errorf("anchor %d expires %s, want %s", i, got, want[i].notAfter)
		}
		subj := c.Subject.String()
		if !strings.Contains(subj, "OU=JPKI for user authentication") || !strings.Contains(subj, "O=JPKI") || c.Subject.String() != c.Issuer.String() {
			t.Errorf("anchor %d subject %q issuer %q", i, subj, c.Issuer)
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("anchor %d is not RSA-2048", i)
		}
	}
	// Callers get their own slice.
	pems[0] = "changed"
	if ProductionTrustAnchors()[0] == "changed" {
		t.Fatal("ProductionTrustAnchors shares its slice")
	}
}

func TestAnchors(t *testing.T) {
	ca := testCA(t)
	a := types.GenesisState{TrustAnchors: []string{ca}}
	certs, err := a.Anchors()
	if err != nil {
		t.Fatalf("Anchors(test CA): %v", err)
	}
	if len(certs) != 1 || !certs[0].IsCA || certs[0].Subject.Organization[0] != "JPKI-TEST" {
		t.Fatalf("Anchors = %v", certs)
	}
	a.TrustAnchors = []string{ca, nonCACert(t)}
	if _, err := a.Anchors(); err == nil || !strings.Contains(err.Error(), "genesis: trust_anchors[1]: not a CA certificate") {
		t.Fatalf("Anchors with a non-CA = %v", err)
	}
	a.TrustAnchors = nil
	if _, err := a.Anchors(); err == nil || !strings.Contains(err.Error(), "genesis: trust_anchors must list at least one") {
		t.Fatalf("Anchors of none = %v", err)
	}
}
