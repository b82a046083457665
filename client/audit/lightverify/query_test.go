package lightverify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

func page(prefix, after string, limit int, next string, keys ...string) *RawPage {
	p := &RawPage{Prefix: prefix, StartAfter: after, Limit: limit, Height: 5}
	for _, k := range keys {
		p.Result.Records = append(p.Result.Records, &types.RangeRecord{Key: k, Value: []byte("v")})
	}
	p.Result.Next = next
	return p
}

// The shape of a range answer is checked before any proof: a node cannot
// page forever, reorder, or slip in records from elsewhere.
func TestVerifyPageShape(t *testing.T) {
	c := &Client{node: "http://node.example:26657", insecure: true}
	tests := []struct {
		name string
		raw  *RawPage
		bad  string // "" = accepted
	}{
		{"ok", page("charge/", "", 3, "charge/b", "charge/a", "charge/b"), ""},
		{"ok after cursor", page("charge/", "charge/a", 3, "", "charge/b"), ""},
		{"empty", page("charge/", "", 3, ""), ""},
		{"outside the prefix", page("charge/", "", 3, "", "charge/a", "person/x"), "outside the range"},
		{"out of order", page("charge/", "", 3, "", "charge/b", "charge/a"), "out of order"},
		{"duplicate", page("charge/", "", 3, "", "charge/a", "charge/a"), "out of order"},
		{"not after the cursor", page("charge/", "charge/b", 3, "", "charge/a"), "out of order"},
		{"cursor not the last key", page("charge/", "", 3, "charge/z", "charge/a"), "next cursor"},
		{"cursor on an empty page", page("charge/", "", 3, "charge/z"), "next cursor"},
		{"over the limit", page("charge/", "", 1, "", "charge/a", "charge/b"), "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.VerifyPage(context.Background(), tc.raw)
			if tc.bad == "" {
				if err != nil || len(p.Records) != len(tc.raw.Result.Records) {
					t.Fatalf("%v", err)
				}
				return
			}
			var pe *ProofError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.bad) || !strings.Contains(err.Error(), c.node) {
				t.Fatalf("error %v, want a ProofError naming the node and %q", err, tc.bad)
			}
			if node, ok := Untrusted(err); !ok || node != c.node {
				t.Errorf("Untrusted = %q, %v", node, ok)
			}
		})
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:26657":         "http://127.0.0.1:26657",
		"tcp://127.0.0.1:26657":   "http://127.0.0.1:26657",
		"http://127.0.0.1:26657/": "http://127.0.0.1:26657",
		"https://node.example":    "https://node.example",
		" ":                       "",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoAnchor(t *testing.T) {
	_, err := resolveAnchor(context.Background(), Options{}, "http://127.0.0.1:1", zeroTime)
	if !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("%v", err)
	}
	_, err = resolveAnchor(context.Background(), Options{TrustHeight: 5, TrustHash: []byte{1}}, "http://127.0.0.1:1", zeroTime)
	if err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("%v", err)
	}
}

var zeroTime = time.Time{}
