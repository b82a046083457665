// Command composegen turns a network written by `mykeyd testnet` into a
// Docker Compose network on two private Docker networks (package docker):
//
//	mykeyd testnet --validators 4 --output /tmp/net --cards 0
//	go run ./docker/composegen --testnet /tmp/net
//	mkdir -p /tmp/mykeyd-image
//	CGO_ENABLED=0 go build -o /tmp/mykeyd-image/mykeyd ./cmd/mykeyd
//	docker build -t mykeyd -f docker/Dockerfile /tmp/mykeyd-image
//	docker compose -p mykey -f /tmp/net/docker-compose.yml up -d
//
// It rewrites the nodes' config.toml files in place and prints the
// containers' addresses as JSON (also saved as docker-network.json).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/mykeyledger/mykey/docker"
	"github.com/mykeyledger/mykey/internal/netlayout"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "composegen:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dir, p2p, api string
		opts          docker.Options
	)
	flag.StringVar(&dir, "testnet", "", "directory written by mykeyd testnet (required)")
	flag.StringVar(&opts.Project, "project", "mykey", "compose project: prefix of container and network names")
	flag.StringVar(&opts.Image, "image", "mykeyd", "mykeyd image (see docker/Dockerfile)")
	flag.StringVar(&p2p, "p2p-subnet", "10.213.0.0/24", "subnet of the peer-to-peer network")
	flag.StringVar(&api, "api-subnet", "10.213.1.0/24", "subnet of the network the host reaches RPC on")
	flag.StringVar(&opts.User, "user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), `uid:gid the containers run as ("" for root)`)
	flag.DurationVar(&opts.TimeoutPropose, "timeout-propose", time.Second, "consensus timeout_propose")
	flag.DurationVar(&opts.TimeoutVote, "timeout-vote", 500*time.Millisecond, "consensus timeout_prevote and timeout_precommit")
	flag.DurationVar(&opts.TimeoutCommit, "timeout-commit", 300*time.Millisecond, "consensus timeout_commit")
	flag.Parse()
	if dir == "" || flag.NArg() > 0 {
		flag.Usage()
		return fmt.Errorf("--testnet DIR is required")
	}
	var err error
	if opts.P2PSubnet, err = netip.ParsePrefix(p2p); err != nil {
		return fmt.Errorf("--p2p-subnet: %w", err)
	}
	if opts.APISubnet, err = netip.ParsePrefix(api); err != nil {
		return fmt.Errorf("--api-subnet: %w", err)
	}
	lay, err := netlayout.Load(dir)
	if err != nil {
		return err
	}
	nw, err := docker.Generate(dir, lay, opts)
	if err != nil {
		return err
	}
	bz, err := json.MarshalIndent(nw, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(bz))
	fmt.Fprintf(os.Stderr, "start it with: docker compose -p %s -f %s up -d (or docker-compose)\n", nw.Project, nw.ComposeFile)
	return nil
}
