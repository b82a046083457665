package app

import (
	"bytes"
	"context"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/snapshot"
)

// State sync: a node with snapshots enabled writes one after every
// SnapshotInterval-th block (package snapshot has the format); a new node
// restores the newest one its peers offer and then replays blocks.

// restore is a snapshot being received.
type restore struct {
	snap    *abci.Snapshot
	appHash []byte
	chunks  [][]byte
	got     int
}

// maybeSnapshot writes a snapshot of the block just committed when its
// height is due. A failure to write one is not a consensus failure, but it
// is an operator problem, so it stops the node with a clear error.
func (a *App) maybeSnapshot() error {
	h := uint64(a.store.Height())
	if a.snaps == nil || a.snapInterval == 0 || h%a.snapInterval != 0 {
		return nil
	}
	if _, err := a.snaps.Create(h, a.store.ExportRecords); err != nil {
		return fmt.Errorf("app: snapshot at height %d: %w", h, err)
	}
	return nil
}

// ListSnapshots is called by peers' state sync through CometBFT.
func (a *App) ListSnapshots(context.Context, *abci.ListSnapshotsRequest) (*abci.ListSnapshotsResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := &abci.ListSnapshotsResponse{}
	if a.snaps == nil {
		return res, nil
	}
	metas, err := a.snaps.List()
	if err != nil {
		return nil, err
	}
	for _, m := range metas {
		res.Snapshots = append(res.Snapshots, &abci.Snapshot{Height: m.Height, Format: m.Format, Chunks: m.Chunks, Hash: m.Hash, Metadata: m.Metadata})
	}
	return res, nil
}

// LoadSnapshotChunk serves one chunk to a peer.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.LoadSnapshotChunkRequest) (*abci.LoadSnapshotChunkResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.snaps == nil {
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	chunk, err := a.snaps.Chunk(req.Height, req.Format, req.Chunk)
	if err != nil {
		return &abci.LoadSnapshotChunkResponse{}, nil // pruned meanwhile: the peer asks another
	}
	return &abci.LoadSnapshotChunkResponse{Chunk: chunk}, nil
}

// OfferSnapshot is called on a node starting with state sync; appHash is
// the app hash at the snapshot's height, verified by the light client.
func (a *App) OfferSnapshot(_ context.Context, req *abci.OfferSnapshotRequest) (*abci.OfferSnapshotResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := req.Snapshot
	switch {
	case a.store.Height() != 0:
		return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_ABORT}, nil
	case s == nil:
		return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_REJECT}, nil
	case s.Format != snapshot.Format:
		return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT}, nil
	}
	if err := snapshot.Verify(s.Format, s.Chunks, s.Hash, s.Metadata); err != nil {
		return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_REJECT}, nil
	}
	a.restore = &restore{snap: s, appHash: append([]byte(nil), req.AppHash...), chunks: make([][]byte, s.Chunks)}
	return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_ACCEPT}, nil
}

// ApplySnapshotChunk takes one chunk; after the last one the state is
// rebuilt, its root checked against the trusted app hash, and committed.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.ApplySnapshotChunkRequest) (*abci.ApplySnapshotChunkResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.restore
	if r == nil {
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ABORT}, nil
	}
	if req.Index >= uint32(len(r.chunks)) || !snapshot.ChunkOK(r.snap.Metadata, req.Index, req.Chunk) {
		return &abci.ApplySnapshotChunkResponse{
			Result:        abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY,
			RefetchChunks: []uint32{req.Index},
			RejectSenders: []string{req.Sender},
		}, nil
	}
	if r.chunks[req.Index] == nil {
		r.chunks[req.Index] = req.Chunk
		r.got++
	}
	if r.got < len(r.chunks) {
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
	}
	a.restore = nil
	err := a.store.ImportRecords(int64(r.snap.Height), r.appHash, func(set func(key, value []byte, weight uint64) error) error {
		for _, c := range r.chunks {
			if err := snapshot.Decode(c, set); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if a.store.Height() == 0 && !bytes.Equal(a.store.AppHash(), r.appHash) {
			// The snapshot does not rebuild the verified state: try another.
			return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT}, nil
		}
		return nil, err
	}
	if err := a.loadChain(a.store); err != nil {
		return nil, err
	}
	if err := a.reloadPeers(); err != nil {
		return nil, err
	}
	return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
}
