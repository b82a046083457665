package app

import (
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"

	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
)

func TestRangeQueryPagesWithProofs(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	var chs []*types.Charge
	for i := 0; i < 5; i++ {
		chs = append(chs, charge("mynapoint", id, fmt.Sprintf("ref-%d", i), 400))
	}
	n.block(n.grantTx("paypay", chs...))
	hash := n.appHash()
	var keys []string
	var total int64
	after := ""
	for page := 0; page < 10; page++ {
		q, _ := (&types.RangeQuery{Prefix: "charge/mynapoint/paypay/", StartAfter: after, Limit: 2}).Marshal()
		res, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: "/range", Data: q, Prove: true})
		if err != nil || res.Code != 0 {
			t.Fatalf("range: %v %+v", err, res)
		}
		var rr types.RangeResult
		if err := rr.Unmarshal(res.Value); err != nil {
			t.Fatal(err)
		}
		if len(rr.Records) > 2 {
			t.Fatalf("page of %d records, limit 2", len(rr.Records))
		}
		for _, r := range rr.Records {
			var ops cmtcrypto.ProofOps
			if err := ops.Unmarshal(r.ProofOps); err != nil {
				t.Fatal(err)
			}
			if err := store.VerifyValue(hash, []byte(r.Key), r.Value, &ops); err != nil {
				t.Fatalf("%s: %v", r.Key, err)
			}
			var g types.GrantRecord
			g.Unmarshal(r.Value)
			total += g.GrantedYen
			keys = append(keys, r.Key)
		}
		if rr.Next == "" {
			break
		}
		after = rr.Next
	}
	if len(keys) != 5 || total != 500 {
		t.Fatalf("range gave %d records, %d yen; want 5 and 500: %v", len(keys), total, keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			t.Fatalf("keys out of order or repeated: %v", keys)
		}
	}
}
