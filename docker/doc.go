// Package docker runs a MyKey Ledger test network in Docker containers.
//
// Generate turns what `mykeyd testnet` wrote into a Docker Compose network:
// it rewrites each node's config.toml for a container (listen on 0.0.0.0,
// peers addressed by their fixed IPs on a private network, short consensus
// timeouts) and writes docker-compose.yml beside the node homes, one
// service per node with its home mounted at /mykey.
//
// Every container sits on two private networks, both `internal` (no route
// out of Docker, no default gateway):
//
//   - the p2p network carries consensus and mempool traffic. Peers know one
//     another only by their p2p IPs and peer exchange is off, so `docker
//     network disconnect` of a container from it is a clean partition;
//   - the api network is where the host reaches each node's RPC, metrics
//     and readiness endpoints (Node.RPC), also while the node is cut off
//     from its peers. Nothing dials P2P over it.
//
// The image (Dockerfile in this directory) holds only a static mykeyd, so
// it builds without pulling a base image. The fault suite in package
// faults builds it, generates a network with Generate and starts it with
// docker compose; `go run ./docker/composegen` does the same generation for
// a person at a terminal.
package docker
