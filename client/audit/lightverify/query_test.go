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
	if types.Counted(prefix) {
		p.Result.Count = &types.RangeCount{Key: types.CountKey(prefix), Value: types.EncodeCount(3)}
	}
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
		{"not counted", page("cert/", "", 3, "", "cert/a"), ""},
		{"no count", func() *RawPage { p := page("charge/", "", 3, "", "charge/a"); p.Result.Count = nil; return p }(), "without its count"},
		{"another count", func() *RawPage {
			p := page("charge/p/", "", 3, "", "charge/p/a")
			p.Result.Count.Key = "count/charge/"
			return p
		}(), "count record \"count/charge/\""},
		{"more than the count", page("charge/", "", 5, "", "charge/a", "charge/b", "charge/c", "charge/d"), "which holds 3"},
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

// A range read in full must hold as many records as its proved count: at
// one height exactly; across heights, between the first page's count and
// the last's, for a directory whose count never falls.
func TestTally(t *testing.T) {
	pg := func(prefix string, height int64, count uint64, n int) *Page {
		return &Page{Prefix: prefix, Height: height, Counted: types.Counted(prefix), Count: count, Records: make([]Record, n)}
	}
	tests := []struct {
		name   string
		prefix string
		pages  []*Page
		bad    string
	}{
		{"complete", "charge/", []*Page{pg("charge/", 5, 3, 2), pg("charge/", 5, 3, 1)}, ""},
		{"one left out", "charge/", []*Page{pg("charge/", 5, 3, 1), pg("charge/", 5, 3, 1)}, "incomplete range: node returned 2 of 3 records under charge/"},
		{"empty and proved empty", "overgrant/", []*Page{pg("overgrant/", 5, 0, 0)}, ""},
		{"empty but not", "overgrant/", []*Page{pg("overgrant/", 5, 1, 0)}, "returned 0 of 1 records under overgrant/"},
		{"too many", "history/", []*Page{pg("history/", 5, 1, 2)}, "range of 2 records under history/, more than the 1"},
		{"grew between pages", "charge/", []*Page{pg("charge/", 5, 3, 2), pg("charge/", 6, 5, 2)}, ""},
		{"short across heights", "charge/", []*Page{pg("charge/", 5, 3, 1), pg("charge/", 6, 5, 1)}, "returned 2 of 3 records under charge/"},
		{"more than the last count", "charge/", []*Page{pg("charge/", 5, 3, 3), pg("charge/", 6, 4, 2)}, "more than the 4"},
		{"deletable across heights", "link/", []*Page{pg("link/", 5, 3, 1), pg("link/", 6, 3, 1)}, ""},
		{"deletable at one height", "link/p/", []*Page{pg("link/p/", 5, 3, 1), pg("link/p/", 5, 3, 1)}, "returned 2 of 3"},
		{"not counted", "cert/", []*Page{pg("cert/", 5, 0, 1)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ty := NewTally("http://node.example:26657", tc.prefix)
			for _, p := range tc.pages {
				ty.Add(p)
			}
			err := ty.Check()
			if tc.bad == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if node, ok := Untrusted(err); !ok || node != ty.Node || !strings.Contains(err.Error(), tc.bad) {
				t.Fatalf("error %v, want an untrusted node and %q", err, tc.bad)
			}
		})
	}
}
