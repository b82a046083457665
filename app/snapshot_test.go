package app

import (
	"bytes"
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

func TestStateSyncRestore(t *testing.T) {
	src := newTestNet(t, netOptions{dir: t.TempDir(), nodes: map[string][]string{"paypay": {nodeID("paypay")}}})
	src.app.Close()
	a, err := New(Options{PseudonymKey: &testPseudonymKey, Dir: src.dir, SnapshotDir: t.TempDir(), SnapshotInterval: 3})
	if err != nil {
		t.Fatal(err)
	}
	src.app = a
	defer a.Close()
	a.snaps.ChunkSize = 2000 // several chunks even for a small state
	// Height 0 again: redo InitChain on the reopened (never committed) store.
	if _, err := a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, Time: t0, AppStateBytes: src.genesis, InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	hashes := map[int64][]byte{}
	var later [][]byte
	for i := 0; i < 3; i++ {
		c := src.card()
		src.block(src.linkTx(c, "mynapoint", "paypay", "acct"+string(rune('a'+i))))
		hashes[src.height] = src.appHash()
		later = append(later, src.grantTx("paypay", charge("mynapoint", src.mykeyOf(c), "g"+string(rune('a'+i)), 4000)))
	}
	list, _ := a.ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{})
	if len(list.Snapshots) != 1 || list.Snapshots[0].Height != 3 || list.Snapshots[0].Chunks < 2 {
		t.Fatalf("snapshots %+v, want one at height 3 in several chunks", list.Snapshots)
	}
	snap := list.Snapshots[0]
	chunk := func(i uint32) []byte {
		r, _ := a.LoadSnapshotChunk(context.Background(), &abci.LoadSnapshotChunkRequest{Height: snap.Height, Format: snap.Format, Chunk: i})
		return r.Chunk
	}

	restoreInto := func(appHash []byte, tamper bool) (*App, abci.ApplySnapshotChunkResult) {
		b, err := New(Options{PseudonymKey: &testPseudonymKey, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		off, _ := b.OfferSnapshot(context.Background(), &abci.OfferSnapshotRequest{Snapshot: snap, AppHash: appHash})
		if off.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
			t.Fatalf("offer: %v", off.Result)
		}
		var last abci.ApplySnapshotChunkResult
		for i := uint32(0); i < snap.Chunks; i++ {
			c := chunk(i)
			if tamper && i == 1 {
				bad := append([]byte(nil), c...)
				bad[0] ^= 1
				r, _ := b.ApplySnapshotChunk(context.Background(), &abci.ApplySnapshotChunkRequest{Index: i, Chunk: bad, Sender: "evil"})
				if r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY || len(r.RejectSenders) != 1 || r.RejectSenders[0] != "evil" {
					t.Fatalf("tampered chunk: %+v", r)
				}
			}
			r, _ := b.ApplySnapshotChunk(context.Background(), &abci.ApplySnapshotChunkRequest{Index: i, Chunk: c, Sender: "good"})
			last = r.Result
		}
		return b, last
	}

	// A snapshot that does not rebuild the trusted app hash is rejected.
	if _, res := restoreInto(hashes[2], false); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
		t.Fatalf("wrong trusted hash: %v", res)
	}
	b, res := restoreInto(hashes[3], true)
	if res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("restore: %v", res)
	}
	info, _ := b.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != 3 || !bytes.Equal(info.LastBlockAppHash, hashes[3]) {
		t.Fatalf("restored node at %d %X, want 3 %X", info.LastBlockHeight, info.LastBlockAppHash, hashes[3])
	}
	// The restored state's record counts are right.
	if c := checkCounts(t, b); c["link/mynapoint/"] != 3 {
		t.Fatalf("restored counts %v", c)
	}
	// Both continue with the same blocks and agree.
	dst := &testNet{t: t, app: b, ca: src.ca, provs: src.provs, height: src.height, now: src.now, keepOpen: true}
	// The restored node admits peers by the snapshot's node registry.
	dst.wantPeer(nodeID("paypay"), true)
	dst.wantPeer(nodeID("stranger"), false)
	src.block(later...)
	dst.block(later...)
	if !bytes.Equal(src.appHash(), dst.appHash()) {
		t.Fatal("restored node diverges on the next block")
	}
	var p types.PersonTotals
	if !dst.query(types.KeyPerson("mynapoint", dst.results[0][0].Events[0].Attributes[2].Value), &p) || p.GrantedYen != 1000 {
		t.Fatalf("restored node's grant: %+v", p)
	}
	// A restored node refuses further snapshots.
	off, _ := b.OfferSnapshot(context.Background(), &abci.OfferSnapshotRequest{Snapshot: snap, AppHash: hashes[3]})
	if off.Result != abci.OFFER_SNAPSHOT_RESULT_ABORT {
		t.Fatalf("offer to a synced node: %v", off.Result)
	}
}
