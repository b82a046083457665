package types

import "testing"

func TestPublicKeysAndPrefixes(t *testing.T) {
	keys := map[string]bool{
		"gov":                        true,
		"govx":                       false,
		"person/p1/ABCDEFGH":         true,
		"link/p1/ABCDEFGH":           true,
		"history/0000000000000001":   true,
		"cert/00ff":                  false,
		"account/p1/paypay/00ff":     false,
		"charge/p1/paypay/ref-1":     false,
		"linkreq/00ff":               false,
		"count/person/":              true,
		"count/person/p1/":           true,
		"count/charge/":              false,
		"count/charge/p1/paypay/":    false,
		"count/":                     false,
		"":                           false,
		"daily/p1/paypay/2026-12-06": true,
	}
	for k, want := range keys {
		if got := PublicKey(k); got != want {
			t.Errorf("PublicKey(%q) = %v, want %v", k, got, want)
		}
	}
	prefixes := map[string]bool{
		"":               false,
		"p":              false,
		"person":         false,
		"person/":        true,
		"person/p1/":     true,
		"charge/":        false,
		"c":              false,
		"count/":         false,
		"count/person/":  true,
		"count/charge/":  false,
		"history/00000":  true,
		"gov":            false,
		"meta/":          true,
		"cert/":          false,
		"linkhistory/p1": false,
		"link/p1":        true,
	}
	for p, want := range prefixes {
		if got := PublicPrefix(p); got != want {
			t.Errorf("PublicPrefix(%q) = %v, want %v", p, got, want)
		}
	}
}
