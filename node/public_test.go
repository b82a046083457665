package node

import (
	"errors"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

func rangeData(t *testing.T, prefix string) []byte {
	t.Helper()
	bz, err := (&types.RangeQuery{Prefix: prefix, Limit: 10}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

// TestCheckPublicQuery: the public endpoint's abci_query gate passes the
// public records and ranges inside public directories, and refuses the
// certificate index, charges, link requests, ranges that could run into
// them and any other query path.
func TestCheckPublicQuery(t *testing.T) {
	ok := []struct{ path, data string }{
		{"/programtotals/mynapoint", ""},
		{"/link/mynapoint/MK123", ""},
		{"/mykey/MK123", ""},
		{"/gov", ""},
		{"/count/person/", ""},
		{"/key", "provider/paypay"},
		{"/key", "history/00000001"},
	}
	for _, c := range ok {
		if err := CheckPublicQuery(c.path, []byte(c.data)); err != nil {
			t.Errorf("%s %q refused: %v", c.path, c.data, err)
		}
	}
	for _, p := range []string{"person/", "person/mynapoint/", "history/", "link/", "count/link/", "provider/", "gov"} {
		if err := CheckPublicQuery("/range", rangeData(t, p)); err != nil {
			t.Errorf("range %q refused: %v", p, err)
		}
	}
	refused := []struct{ path, data string }{
		{"/cert/0123abcd", ""},
		{"/charge/mynapoint/paypay/ref-1", ""},
		{"/account/xyz", ""},
		{"/linkreq/xyz", ""},
		{"/count/cert/", ""},
		{"/key", "cert/0123abcd"},
		{"/key", "charge/mynapoint/paypay/ref-1"},
		{"/certindex", ""},
		{"/p2p/filter/id/abc", ""},
		{"/", ""},
		{"", ""},
		{"store/x", ""},
		{"/governor", ""},
	}
	for _, c := range refused {
		if err := CheckPublicQuery(c.path, []byte(c.data)); !errors.Is(err, ErrNotPublic) {
			t.Errorf("%s %q: err %v, want ErrNotPublic", c.path, c.data, err)
		}
	}
	for _, p := range []string{"", "c", "ch", "charge/", "cert/", "count/", "count/cert/", "p", "l", "link", "linkreq/"} {
		if err := CheckPublicQuery("/range", rangeData(t, p)); !errors.Is(err, ErrNotPublic) {
			t.Errorf("range %q: err %v, want ErrNotPublic", p, err)
		}
	}
	if err := CheckPublicQuery("/range", []byte{0xff, 0xff}); err == nil {
		t.Error("a malformed range query passed")
	}
}

// TestCheckPublicRange: a range answer that holds a private record or
// count is refused.
func TestCheckPublicRange(t *testing.T) {
	enc := func(rr *types.RangeResult) []byte {
		bz, err := rr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return bz
	}
	if err := checkPublicRange(enc(&types.RangeResult{Records: []*types.RangeRecord{{Key: "gov"}}})); err != nil {
		t.Errorf("gov: %v", err)
	}
	if err := checkPublicRange(enc(&types.RangeResult{Records: []*types.RangeRecord{{Key: "gov"}, {Key: "governance-secret"}}})); !errors.Is(err, ErrNotPublic) {
		t.Errorf("a private record in a range answer: %v", err)
	}
	if err := checkPublicRange(enc(&types.RangeResult{Count: &types.RangeCount{Key: "count/cert/"}})); !errors.Is(err, ErrNotPublic) {
		t.Errorf("a private count in a range answer: %v", err)
	}
}
