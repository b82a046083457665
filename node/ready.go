package node

import (
	"encoding/json"
	"net/http"
)

// nodeStatus is what readiness is judged on.
type nodeStatus struct {
	// CatchingUp is true while the node block-syncs or state-syncs.
	CatchingUp bool `json:"catching_up"`
	// Peers is the number of connected peers.
	Peers int `json:"peers"`
	// Height is the latest block the node has stored.
	Height int64 `json:"height"`
}

// readyReply is the JSON body of GET /ready.
type readyReply struct {
	Ready bool `json:"ready"`
	nodeStatus
	MinPeers int    `json:"min_peers"`
	Reason   string `json:"reason,omitempty"`
}

// readyHandler serves GET /ready: 200 when the node is caught up (not
// syncing), has at least minPeers peers and has a block; 503 otherwise.
// The JSON body says which.
func readyHandler(status func() nodeStatus, minPeers int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		st := status()
		r := readyReply{nodeStatus: st, MinPeers: minPeers}
		switch {
		case st.CatchingUp:
			r.Reason = "catching up"
		case st.Peers < minPeers:
			r.Reason = "too few peers"
		case st.Height < 1:
			r.Reason = "no block yet"
		default:
			r.Ready = true
		}
		w.Header().Set("Content-Type", "application/json")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
	return mux
}
