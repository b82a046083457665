package faults

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/docker"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

// The test network.
const (
	validators = 4
	chainID    = "mykey-faults"
	program    = node.DefaultProgram
	capYen     = node.DefaultCapYen
	rateBP     = node.DefaultRateBP
	// govKeys authority keys, govThreshold of them needed.
	govKeys      = 3
	govThreshold = 2
)

// providers[i] runs node i+1.
var providers = []string{"paypay", "linepay", "rakutenpay"}

// cluster is the 4-validator network in containers, and what the suite
// declares about it: which validators are up and connected to the rest.
type cluster struct {
	t       *testing.T
	denv    *dockerEnv
	dir     string // run directory
	netDir  string // what mykeyd testnet wrote, and the compose file
	project string // names every container, network and the image
	image   string
	mykey   string // the client binary
	lay     *netlayout.Layout
	nw      *docker.Network
	nodes   []rpc.Node      // the client's view of each node
	comet   []*rpchttp.HTTP // CometBFT's RPC client, for what rpc.Node lacks
	keys    map[string]*keyfile.Key
	gov     []*keyfile.Key
	ca      *testca.CA
	live    *liveness
	rep     *report

	mu sync.Mutex
	up []bool // declared connected: running and in touch with its peers
}

// newCluster builds the binaries and the image, writes the network and
// starts it, and registers its removal.
func newCluster(t *testing.T, denv *dockerEnv, rep *report) *cluster {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { keepRunDir(t, dir) }) // after the containers are gone
	c := &cluster{
		t: t, denv: denv, dir: dir,
		project: fmt.Sprintf("%s%d-%s", namePrefix, os.Getpid(), randID(6)),
		rep:     rep, up: make([]bool, validators),
	}
	c.image = c.project + ":latest"
	sweepStale(t)

	start := time.Now()
	mykeyd, mykey := binaries(t, dir)
	c.mykey = mykey
	t.Logf("faults: built mykeyd (static) and mykey in %s", time.Since(start).Round(time.Second))
	dockerfile := filepath.Join(repoRoot(t), "docker", "Dockerfile")
	if _, err := run(5*time.Minute, "docker", "build", "-q", "-t", c.image, "-f", dockerfile, filepath.Dir(mykeyd)); err != nil {
		t.Fatalf("faults: building the image: %v", err)
	}
	t.Cleanup(func() { _, _ = run(2*time.Minute, "docker", "rmi", "-f", c.image) })

	// The network is written as for processes; the Docker layer
	// (startNetwork) then runs it in containers.
	nw := testnet.Start(t, testnet.Options{Validators: validators, ChainID: chainID, Dir: dir,
		GovernmentKeys: govKeys, GovernmentThreshold: govThreshold, NoStart: true})
	c.netDir, c.lay, c.ca, c.keys, c.gov = nw.NetDir, nw.Layout, nw.CA, nw.ProviderKeys, nw.GovKeys
	t.Cleanup(c.remove)
	c.startNetwork()
	c.live = startLiveness(c)
	t.Cleanup(c.live.stop)
	return c
}

func randID(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// startNetwork generates the compose network on free subnets and starts
// it, then waits for every node's second block.
func (c *cluster) startNetwork() {
	t := c.t
	var lastErr error
	for try := 0; try < 6; try++ {
		// Two /24s in 10.192.0.0/11, well away from Docker's defaults.
		b := 192 + rand.IntN(32)
		third := rand.IntN(127) * 2
		opts := docker.Options{
			Project:        c.project,
			Image:          c.image,
			P2PSubnet:      netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", b, third)),
			APISubnet:      netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", b, third+1)),
			User:           fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
			TimeoutPropose: time.Second,
			TimeoutVote:    500 * time.Millisecond,
			TimeoutCommit:  300 * time.Millisecond,
			Tune: func(_ int, nc *node.Config) {
				// Let an oversized transaction reach the mempool's
				// max_tx_bytes check rather than the RPC body limit.
				nc.Comet.RPC.MaxBodyBytes = 4 << 20
			},
		}
		nw, err := docker.Generate(c.netDir, c.lay, opts)
		if err != nil {
			t.Fatalf("faults: %v", err)
		}
		c.nw = nw
		_, lastErr = run(3*time.Minute, c.denv.compose[0], c.composeArgs("up", "-d")...)
		if lastErr == nil {
			break
		}
		c.compose(2*time.Minute, "down", "-t", "5", "--remove-orphans")
		if !strings.Contains(lastErr.Error(), "overlap") && !strings.Contains(lastErr.Error(), "Pool") {
			t.Fatalf("faults: starting the network: %v", lastErr)
		}
		t.Logf("faults: subnets %s, %s taken; trying others", opts.P2PSubnet, opts.APISubnet)
	}
	if lastErr != nil {
		t.Fatalf("faults: starting the network: %v", lastErr)
	}
	for _, n := range c.nw.Nodes {
		rn, err := rpc.Dial(n.RPC)
		if err != nil {
			t.Fatal(err)
		}
		cn, err := rpchttp.New(n.RPC)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, rn)
		c.comet = append(c.comet, cn)
	}
	for i := range validators {
		testnet.WaitFor(t, 90*time.Second, fmt.Sprintf("node %d to make block 2 at %s (the suite reaches each container at its address on a Docker bridge network it made: the host must route to it)",
			i, c.nw.Nodes[i].RPC), func() bool { return c.height(i) >= 2 })
		c.setUp(i, true)
	}
	t.Logf("faults: network %s up: %d validators, p2p %s, api %s", c.project, validators, c.nw.P2PSubnet, c.nw.APISubnet)
}

func (c *cluster) composeArgs(args ...string) []string {
	return append(append(append([]string{}, c.denv.compose[1:]...), "-p", c.project, "-f", c.nw.ComposeFile), args...)
}

// compose runs a compose command, ignoring its failure.
func (c *cluster) compose(timeout time.Duration, args ...string) {
	if _, err := run(timeout, c.denv.compose[0], c.composeArgs(args...)...); err != nil {
		c.t.Logf("faults: %v", err)
	}
}

// remove removes the containers and networks, whatever state they are in.
func (c *cluster) remove() {
	if c.nw == nil {
		return
	}
	c.compose(3*time.Minute, "down", "-v", "-t", "10", "--remove-orphans")
	for _, n := range c.nw.Nodes {
		_, _ = run(time.Minute, "docker", "rm", "-f", n.Container)
	}
	_, _ = run(time.Minute, "docker", "network", "rm", c.nw.P2PNetwork)
	_, _ = run(time.Minute, "docker", "network", "rm", c.nw.APINetwork)
}

// docker runs a docker command on the network, failing the test if it
// fails.
func (c *cluster) docker(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := run(2*time.Minute, "docker", args...)
	if err != nil {
		tb.Fatalf("faults: %v", err)
	}
	return strings.TrimSpace(out)
}

func (c *cluster) container(i int) string { return c.nw.Nodes[i].Container }
