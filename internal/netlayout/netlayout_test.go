package netlayout

import (
	"encoding/json"
	"testing"
)

// An auditor given a --network reads its first node's public endpoint;
// only --charges, which reads charge records, goes to the full RPC.
func TestNetworkDefaultNode(t *testing.T) {
	var lay Layout
	if err := json.Unmarshal([]byte(`{"nodes":[{"rpc":"http://127.0.0.1:26657","public":"http://127.0.0.1:26660"},{"rpc":"http://127.0.0.1:26667","public":"http://127.0.0.1:26670"}]}`), &lay); err != nil {
		t.Fatal(err)
	}
	if got := lay.DefaultNode(false); got != "http://127.0.0.1:26660" {
		t.Errorf("public commands read %s, want the first node's public endpoint", got)
	}
	if got := lay.DefaultNode(true); got != "http://127.0.0.1:26657" {
		t.Errorf("--charges reads %s, want the first node's full RPC", got)
	}
	var old Layout
	if err := json.Unmarshal([]byte(`{"nodes":[{"rpc":"http://127.0.0.1:26657"}]}`), &old); err != nil {
		t.Fatal(err)
	}
	if got := old.DefaultNode(false); got != "http://127.0.0.1:26657" {
		t.Errorf("a network without public endpoints: %s", got)
	}
	var none *Layout
	if got := none.DefaultNode(false); got != "" {
		t.Errorf("no network: %q", got)
	}
}
