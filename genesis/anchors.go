package genesis

import (
	"embed"
	"fmt"
)

//go:embed anchors/auth_ca_2015.pem anchors/auth_ca_2023.pem
var anchorFiles embed.FS

// productionAnchorFiles are the J-LIS user-authentication CA roots, oldest
// first (anchors/, as J-LIS publishes them; their SHA-256 fingerprints are
// checked in anchors_test.go).
var productionAnchorFiles = []string{
	"anchors/auth_ca_2015.pem", // 2015-10-20 .. 2025-10-19, SHA-256 4D:CF:C4:CA:…:1D:58:CA:7D
	"anchors/auth_ca_2023.pem", // 2023-07-16 .. 2033-07-15, SHA-256 64:11:4F:29:…:18:C3:22:B5
}

// ProductionTrustAnchors returns the real JPKI user-authentication CA roots
// operated by J-LIS, as PEM, oldest first. My Number Cards chain directly to
// them. A production genesis lists them in app_state.trust_anchors; test
// networks use a JPKI-shaped test CA instead. The 2015 root has expired but
// is kept: whether a card's certificate is valid is judged at block time.
func ProductionTrustAnchors() []string {
	out := make([]string, len(productionAnchorFiles))
	for i, name := range productionAnchorFiles {
		bz, err := anchorFiles.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("genesis: embedded trust anchor %s: %v", name, err))
		}
		out[i] = string(bz)
	}
	return out
}
