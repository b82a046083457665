package genesis

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/mykeyledger/mykey/app/types"
)

// errLines splits a joined validation error into its messages.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestValidDocumentValidates(t *testing.T) {
	d := validDoc(t)
	if err := d.Validate(); err != nil {
		t.Fatalf("valid document rejected:\n%v", err)
	}
	// Optional parts really are optional: a fixed program without cap,
	// no programs at all, a government without a validator.
	d.AppState.Programs[1].CapYen = 0
	if err := d.Validate(); err != nil {
		t.Fatalf("fixed program with cap_yen 0 rejected: %v", err)
	}
	d.AppState.Programs = nil
	d.AppState.Government.ValidatorKey, d.AppState.Government.Power = nil, 0
	if err := d.Validate(); err != nil {
		t.Fatalf("document without programs and government validator rejected: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ca := testCA(t)
	notCA := nonCACert(t)
	noCertSign := selfSigned(t, &testRSAKey(t).PublicKey, testRSAKey(t), func(c *x509.Certificate) {
		c.KeyUsage = x509.KeyUsageDigitalSignature
	})
	ecCA := ecdsaCA(t)
	weakCA := weakRSACA(t)
	keyPEM := "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	garbageDER := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

	tests := []struct {
		name string
		edit func(d *Document)
		want []string // each must appear in one message
	}{
		// Document.
		{"chain id empty", func(d *Document) { d.ChainID = "" },
			[]string{"genesis: chain_id must not be empty"}},
		{"chain id too long", func(d *Document) { d.ChainID = strings.Repeat("c", 51) },
			[]string{"genesis: chain_id", "is 51 bytes, at most 50 allowed"}},
		{"initial height negative", func(d *Document) { d.InitialHeight = -1 },
			[]string{"genesis: initial_height -1 must not be negative"}},
		{"genesis time unset", func(d *Document) { d.GenesisTime = time.Time{} },
			[]string{"genesis: genesis_time must be set"}},
		{"consensus params invalid", func(d *Document) {
			cp := cmttypes.DefaultConsensusParams()
			cp.Block.MaxBytes = 0
			d.ConsensusParams = cp
		}, []string{"genesis: consensus_params: block.MaxBytes cannot be 0"}},
		{"consensus params without ed25519", func(d *Document) {
			cp := cmttypes.DefaultConsensusParams()
			cp.Validator.PubKeyTypes = []string{cmttypes.ABCIPubKeyTypeSecp256k1}
			d.ConsensusParams = cp
		}, []string{"genesis: consensus_params.validator.pub_key_types", `does not allow "ed25519"`}},

		// Government.
		{"government no keys", func(d *Document) { d.AppState.Government.Keys = nil; d.AppState.Government.Threshold = 1 },
			[]string{"genesis: government.keys must list at least one key", "genesis: government.threshold 1 is above the number of keys (0)"}},
		{"government key size", func(d *Document) { d.AppState.Government.Keys[1] = edKey(2)[:31] },
			[]string{"genesis: government.keys[1] is 31 bytes, want a 32-byte ed25519 public key"}},
		{"government key duplicate", func(d *Document) { d.AppState.Government.Keys[2] = edKey(1) },
			[]string{"genesis: government.keys[2]: duplicate key (also government.keys[0])"}},
		{"government threshold zero", func(d *Document) { d.AppState.Government.Threshold = 0 },
			[]string{"genesis: government.threshold must be at least 1"}},
		{"government threshold above keys", func(d *Document) {
			d.AppState.Government.Keys = d.AppState.Government.Keys[:2]
			d.AppState.Government.Threshold = 3
		}, []string{"genesis: government.threshold 3 is above the number of keys (2)"}},
		{"government name empty", func(d *Document) { d.AppState.Government.Name = " " },
			[]string{"genesis: government.name must not be empty"}},
		{"government validator key size", func(d *Document) { d.AppState.Government.ValidatorKey = types.HexBytes{1, 2, 3} },
			[]string{"genesis: government.validator_key is 3 bytes, want a 32-byte ed25519 public key"}},
		{"government power negative", func(d *Document) {
			d.AppState.Government.ValidatorKey = nil
			d.AppState.Government.Power = -5
		}, []string{"genesis: government.power -5 must not be negative"}},

		// Providers.
		{"provider id empty", func(d *Document) { d.AppState.Providers[0].ID = "" },
			[]string{"genesis: providers[0].id must not be empty"}},
		{"provider id too long", func(d *Document) { d.AppState.Providers[0].ID = strings.Repeat("p", 33) },
			[]string{"genesis: providers[0].id", "is 33 characters, at most 32 allowed"}},
		{"provider id with slash", func(d *Document) { d.AppState.Providers[1].ID = "line/pay" },
			[]string{`genesis: providers[1].id "line/pay" has character '/'`}},
		{"provider id duplicate", func(d *Document) {
			d.AppState.Providers[0].ID = "acme"
			d.AppState.Providers[2].ID = "acme"
		}, []string{`genesis: providers[2].id "acme": duplicate provider id (also providers[0])`}},
		{"provider name empty", func(d *Document) { d.AppState.Providers[2].Name = "" },
			[]string{"genesis: providers[2].name must not be empty"}},
		{"provider name control character", func(d *Document) { d.AppState.Providers[2].Name = "Su\nica" },
			[]string{`genesis: providers[2].name "Su\nica" has a control character`}},
		{"grant key size", func(d *Document) { d.AppState.Providers[1].GrantKey = nil },
			[]string{"genesis: providers[1].grant_key is 0 bytes, want a 32-byte ed25519 public key"}},
		{"grant key duplicate", func(d *Document) { d.AppState.Providers[2].GrantKey = edKey(20) },
			[]string{"genesis: providers[2].grant_key: duplicate grant key (also providers[0].grant_key)"}},
		{"provider validator key size", func(d *Document) { d.AppState.Providers[0].ValidatorKey = make(types.HexBytes, 33) },
			[]string{"genesis: providers[0].validator_key is 33 bytes, want a 32-byte ed25519 public key"}},
		{"validator key shared with government", func(d *Document) { d.AppState.Providers[1].ValidatorKey = edKey(10) },
			[]string{"genesis: providers[1].validator_key: duplicate validator key (also government.validator_key)"}},
		{"validator key shared between providers", func(d *Document) { d.AppState.Providers[1].ValidatorKey = edKey(30) },
			[]string{"genesis: providers[1].validator_key: duplicate validator key (also providers[0].validator_key)"}},
		{"provider power negative", func(d *Document) { d.AppState.Providers[2].Power = -1 },
			[]string{"genesis: providers[2].power -1 must not be negative"}},
		{"validator key with zero power", func(d *Document) { d.AppState.Providers[0].Power = 0 },
			[]string{"genesis: providers[0].power must be positive when a validator_key is set"}},
		{"power without validator key", func(d *Document) { d.AppState.Providers[2].Power = 3 },
			[]string{"genesis: providers[2].power 3 is set but providers[2].validator_key is empty"}},
		{"power above maximum", func(d *Document) { d.AppState.Providers[0].Power = cmttypes.MaxTotalVotingPower + 1 },
			[]string{"genesis: providers[0].power", "is above the maximum"}},
		{"total power above maximum", func(d *Document) {
			d.AppState.Providers[0].Power = cmttypes.MaxTotalVotingPower
			d.AppState.Providers[1].Power = cmttypes.MaxTotalVotingPower
		}, []string{"genesis: total validator power is above the maximum"}},
		{"no validator", func(d *Document) {
			a := &d.AppState
			a.Government.ValidatorKey, a.Government.Power = nil, 0
			for i := range a.Providers {
				a.Providers[i].ValidatorKey, a.Providers[i].Power = nil, 0
			}
		}, []string{"genesis: no validator: the government or a provider needs a validator_key and power > 0"}},

		// Programs.
		{"program id invalid", func(d *Document) { d.AppState.Programs[0].ID = "myna point" },
			[]string{`genesis: programs[0].id "myna point" has character ' '`}},
		{"program id duplicate", func(d *Document) { d.AppState.Programs[1].ID = d.AppState.Programs[0].ID },
			[]string{`genesis: programs[1].id "mynapoint-1": duplicate program id (also programs[0])`}},
		{"program name empty", func(d *Document) { d.AppState.Programs[0].Name = "" },
			[]string{"genesis: programs[0].name must not be empty"}},
		{"program kind unknown", func(d *Document) { d.AppState.Programs[0].Kind = "percent" },
			[]string{`genesis: programs[0].kind "percent" is unknown (want "percent_of_charge" or "fixed")`}},
		{"program kind empty", func(d *Document) { d.AppState.Programs[1].Kind = "" },
			[]string{"genesis: programs[1].kind must be set"}},
		{"percent rate zero", func(d *Document) { d.AppState.Programs[0].RateBP = 0 },
			[]string{"genesis: programs[0].rate_bp 0 must be in 1..10000"}},
		{"percent rate above 100%", func(d *Document) { d.AppState.Programs[0].RateBP = 10001 },
			[]string{"genesis: programs[0].rate_bp 10001 must be in 1..10000"}},
		{"percent cap zero", func(d *Document) { d.AppState.Programs[0].CapYen = 0 },
			[]string{"genesis: programs[0].cap_yen must be positive"}},
		{"percent with fixed amount", func(d *Document) { d.AppState.Programs[0].FixedYen = 100 },
			[]string{"genesis: programs[0].fixed_yen must be 0 for a percent_of_charge program"}},
		{"fixed amount zero", func(d *Document) { d.AppState.Programs[1].FixedYen = 0 },
			[]string{"genesis: programs[1].fixed_yen must be positive"}},
		{"fixed cap differs", func(d *Document) { d.AppState.Programs[1].CapYen = 5000 },
			[]string{"genesis: programs[1].cap_yen 5000 must be 0 or equal to fixed_yen (7500)"}},
		{"fixed with rate", func(d *Document) { d.AppState.Programs[1].RateBP = 2500 },
			[]string{"genesis: programs[1].rate_bp must be 0 for a fixed program"}},
		{"budget zero", func(d *Document) { d.AppState.Programs[0].BudgetYen = 0 },
			[]string{"genesis: programs[0].budget_yen must be positive"}},
		{"link window empty", func(d *Document) { d.AppState.Programs[0].LinkEnd = t0 },
			[]string{"genesis: programs[0].link_start 2020-09-01T00:00:00Z must be before link_end 2020-09-01T00:00:00Z"}},
		{"grant window reversed", func(d *Document) { d.AppState.Programs[1].GrantStart = t1.Add(time.Hour) },
			[]string{"genesis: programs[1].grant_start 2021-03-31T01:00:00Z must be before grant_end 2021-03-31T00:00:00Z"}},
		{"program time unset", func(d *Document) { d.AppState.Programs[0].GrantEnd = time.Time{} },
			[]string{"genesis: programs[0].grant_end must be set"}},
		{"program time sub-second", func(d *Document) { d.AppState.Programs[0].LinkStart = t0.Add(time.Millisecond) },
			[]string{"genesis: programs[0].link_start 2020-09-01T00:00:00.001Z must be a whole second"}},
		{"program time before 1970", func(d *Document) { d.AppState.Programs[0].LinkStart = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) },
			[]string{"genesis: programs[0].link_start 1969-01-01T00:00:00Z is out of range"}},

		// Trust anchors.
		{"trust anchors empty", func(d *Document) { d.AppState.TrustAnchors = nil },
			[]string{"genesis: trust_anchors must list at least one CA certificate"}},
		{"trust anchor bad PEM", func(d *Document) { d.AppState.TrustAnchors = append(d.AppState.TrustAnchors, "not a pem") },
			[]string{"genesis: trust_anchors[1]: bad PEM"}},
		{"trust anchor wrong PEM type", func(d *Document) { d.AppState.TrustAnchors = []string{keyPEM} },
			[]string{`genesis: trust_anchors[0]: PEM block is "RSA PRIVATE KEY", want "CERTIFICATE"`}},
		{"trust anchor does not parse", func(d *Document) { d.AppState.TrustAnchors = []string{garbageDER} },
			[]string{"genesis: trust_anchors[0]: bad certificate:"}},
		{"trust anchor with trailing data", func(d *Document) { d.AppState.TrustAnchors = []string{ca + ca} },
			[]string{"genesis: trust_anchors[0]: data after the certificate; give one certificate per entry"}},
		{"trust anchor not a CA", func(d *Document) { d.AppState.TrustAnchors = []string{notCA} },
			[]string{"genesis: trust_anchors[0]: not a CA certificate"}},
		{"trust anchor without certSign", func(d *Document) { d.AppState.TrustAnchors = []string{noCertSign} },
			[]string{"genesis: trust_anchors[0]: key usage {digitalSignature} does not include keyCertSign"}},
		{"trust anchor not RSA", func(d *Document) { d.AppState.TrustAnchors = []string{ecCA} },
			[]string{"genesis: trust_anchors[0]: not an RSA key (ECDSA)"}},
		{"trust anchor weak RSA", func(d *Document) { d.AppState.TrustAnchors = []string{weakCA} },
			[]string{"genesis: trust_anchors[0]: RSA key is 1024 bits, at least 2048 required"}},
		{"trust anchor duplicate", func(d *Document) { d.AppState.TrustAnchors = []string{ca, testCA(t), "\n" + ca} },
			[]string{"genesis: trust_anchors[2]: duplicate certificate (also trust_anchors[0])"}},
		{"pseudonym commitment missing", func(d *Document) { d.AppState.PseudonymCommitment = nil },
			[]string{"genesis: pseudonym_commitment must be the 32-byte commitment to the network pseudonym key (hex), got 0 bytes"}},
		{"pseudonym commitment short", func(d *Document) { d.AppState.PseudonymCommitment = testCommitment[:31] },
			[]string{"genesis: pseudonym_commitment must be the 32-byte commitment", "got 31 bytes"}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			d := validDoc(t)
			tc.edit(d)
			err := d.Validate()
			if err == nil {
				t.Fatalf("Validate accepted the document; want %q", tc.want)
			}
			lines := errLines(err)
			for _, w := range tc.want {
				found := false
				for _, l := range lines {
					if strings.Contains(l, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no message contains %q; got:\n%v", w, err)
				}
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "genesis: ") {
					t.Errorf("message %q lacks the \"genesis: \" prefix", l)
				}
			}
			// AppState.Validate reports the same app state problems.
			if strings.Contains(tc.name, "chain id") || strings.Contains(tc.name, "initial height") ||
				strings.Contains(tc.name, "genesis time") || strings.Contains(tc.name, "consensus params") {
				if aerr := d.AppState.Validate(); aerr != nil {
					t.Errorf("AppState.Validate rejected a valid app state: %v", aerr)
				}
			} else if aerr := d.AppState.Validate(); aerr == nil || !strings.Contains(aerr.Error(), tc.want[0]) {
				t.Errorf("AppState.Validate = %v; want it to contain %q", aerr, tc.want[0])
			}
		})
	}
}

// TestValidateCollectsAllProblems checks that Validate does not stop at the
// first problem.
func TestValidateCollectsAllProblems(t *testing.T) {
	d := validDoc(t)
	d.ChainID = ""
	d.AppState.Government.Threshold = 9
	d.AppState.Providers[2].ID = "a/b"
	d.AppState.Programs[0].CapYen = -1
	d.AppState.TrustAnchors = []string{"junk"}
	err := d.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate error %v is not a joined error", err)
	}
	if n := len(joined.Unwrap()); n != 5 {
		t.Fatalf("got %d problems, want 5:\n%v", n, err)
	}
	for _, want := range []string{"chain_id", "government.threshold 9", "providers[2].id", "programs[0].cap_yen", "trust_anchors[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("joined error lacks %q:\n%v", want, err)
		}
	}
}
