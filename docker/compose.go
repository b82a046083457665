package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/node"
)

// Ports every container listens on (on all its addresses).
const (
	P2PPort     = 26656
	RPCPort     = 26657
	MetricsPort = 26660
	PublicPort  = 26670 // the public endpoint, mykeyd init's default
	ReadyPort   = 26680
)

// Files Generate writes in the network directory.
const (
	ComposeFile = "docker-compose.yml"
	NetworkFile = "docker-network.json"
)

// HomeInContainer is where each container mounts its node's home.
const HomeInContainer = "/mykey"

// firstHost is the host part of node 0's IPs; node i gets firstHost+i.
const firstHost = 10

// Options configure Generate.
type Options struct {
	// Project names the compose project and prefixes every container
	// and network ("<project>-node0", "<project>-p2p"). Lower-case
	// letters, digits and dashes.
	Project string
	// Image is the mykeyd image the services run.
	Image string
	// P2PSubnet and APISubnet are the IPv4 subnets of the two networks;
	// node i gets host address 10+i in each. They must not overlap each
	// other or any Docker network on the host.
	P2PSubnet, APISubnet netip.Prefix
	// User is the "uid:gid" the containers run as; it should own the
	// node homes. "" runs as the image's default (root).
	User string
	// TimeoutPropose, TimeoutVote (prevote and precommit) and
	// TimeoutCommit set every node's consensus timeouts; 0 keeps the
	// value in the node's config.
	TimeoutPropose, TimeoutVote, TimeoutCommit time.Duration
	// Tune, if set, adjusts node i's configuration after Generate's own
	// changes and before it is saved.
	Tune func(i int, c *node.Config)
}

// Network describes a generated container network (docker-network.json).
type Network struct {
	Project     string `json:"project"`
	ComposeFile string `json:"compose_file"`
	Image       string `json:"image"`
	P2PNetwork  string `json:"p2p_network"` // Docker network names
	APINetwork  string `json:"api_network"`
	P2PSubnet   string `json:"p2p_subnet"`
	APISubnet   string `json:"api_subnet"`
	Nodes       []Node `json:"nodes"`
}

// Node is one container of the network.
type Node struct {
	Name      string `json:"name"`      // the testnet's node name, e.g. "government"
	Service   string `json:"service"`   // compose service, "node<i>"
	Container string `json:"container"` // container name
	Home      string `json:"home"`      // the node's home on the host
	NodeID    string `json:"node_id"`
	P2PIP     string `json:"p2p_ip"`
	APIIP     string `json:"api_ip"`
	RPC       string `json:"rpc"`     // http://<api ip>:26657
	Metrics   string `json:"metrics"` // http://<api ip>:26660/metrics
	Ready     string `json:"ready"`   // http://<api ip>:26680/ready
	Public    string `json:"public"`  // http://<api ip>:26670, the public endpoint
}

var projectRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,40}$`)

// Generate makes the test network that `mykeyd testnet` wrote in dir (as
// described by lay) run in containers: it rewrites every node's
// config.toml and writes dir/docker-compose.yml and dir/docker-network.json.
// Calling it again with other options rewrites them all.
func Generate(dir string, lay *netlayout.Layout, opts Options) (*Network, error) {
	if err := opts.validate(len(lay.Nodes)); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	nw := &Network{
		Project:     opts.Project,
		ComposeFile: filepath.Join(dir, ComposeFile),
		Image:       opts.Image,
		P2PNetwork:  opts.Project + "-p2p",
		APINetwork:  opts.Project + "-api",
		P2PSubnet:   opts.P2PSubnet.String(),
		APISubnet:   opts.APISubnet.String(),
	}
	for i, ln := range lay.Nodes {
		p2p, api := hostIP(opts.P2PSubnet, i), hostIP(opts.APISubnet, i)
		nw.Nodes = append(nw.Nodes, Node{
			Name: ln.Name, Service: fmt.Sprintf("node%d", i),
			Container: fmt.Sprintf("%s-node%d", opts.Project, i),
			Home:      ln.Home, NodeID: ln.NodeID,
			P2PIP: p2p.String(), APIIP: api.String(),
			RPC:     fmt.Sprintf("http://%s:%d", api, RPCPort),
			Metrics: fmt.Sprintf("http://%s:%d/metrics", api, MetricsPort),
			Ready:   fmt.Sprintf("http://%s:%d/ready", api, ReadyPort),
			Public:  fmt.Sprintf("http://%s:%d", api, PublicPort),
		})
	}
	for i := range nw.Nodes {
		if err := configure(nw, i, lay.ChainID, opts); err != nil {
			return nil, err
		}
	}
	if err := writeCompose(dir, nw, opts.User); err != nil {
		return nil, err
	}
	bz, err := json.MarshalIndent(nw, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, NetworkFile), append(bz, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return nw, nil
}

func (o *Options) validate(nodes int) error {
	switch {
	case !projectRE.MatchString(o.Project):
		return fmt.Errorf("docker: project %q: use 1-41 lower-case letters, digits and dashes", o.Project)
	case o.Image == "":
		return errors.New("docker: no image")
	case nodes == 0:
		return errors.New("docker: the layout has no nodes")
	}
	for _, s := range []struct {
		name string
		p    netip.Prefix
	}{{"p2p", o.P2PSubnet}, {"api", o.APISubnet}} {
		if !s.p.IsValid() || !s.p.Addr().Is4() || s.p.Bits() > 28 {
			return fmt.Errorf("docker: %s subnet %s: want an IPv4 subnet of /28 or larger", s.name, s.p)
		}
		if s.p.Masked() != s.p {
			return fmt.Errorf("docker: %s subnet %s is not a network address (%s?)", s.name, s.p, s.p.Masked())
		}
		if last := hostIP(s.p, nodes-1); !s.p.Contains(last) || !s.p.Contains(last.Next()) {
			return fmt.Errorf("docker: %s subnet %s is too small for %d nodes", s.name, s.p, nodes)
		}
	}
	if o.P2PSubnet.Overlaps(o.APISubnet) {
		return fmt.Errorf("docker: the p2p subnet %s and the api subnet %s overlap", o.P2PSubnet, o.APISubnet)
	}
	return nil
}

// hostIP is node i's address in subnet p.
func hostIP(p netip.Prefix, i int) netip.Addr {
	a := p.Addr()
	for range firstHost + i {
		a = a.Next()
	}
	return a
}

// configure rewrites node i's config.toml for its container.
func configure(nw *Network, i int, chainID string, opts Options) error {
	n := nw.Nodes[i]
	c, err := node.LoadConfig(n.Home)
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	p := c.Comet.P2P
	p.ListenAddress = fmt.Sprintf("tcp://0.0.0.0:%d", P2PPort)
	p.ExternalAddress = fmt.Sprintf("%s:%d", n.P2PIP, P2PPort)
	var peers []string
	for j, m := range nw.Nodes {
		if j != i {
			peers = append(peers, fmt.Sprintf("%s@%s:%d", m.NodeID, m.P2PIP, P2PPort))
		}
	}
	p.PersistentPeers = strings.Join(peers, ",")
	// Validators know each other: no peer exchange, so no address but
	// the p2p network's is ever dialled and a disconnect is a partition.
	p.PexReactor = false
	p.AddrBookStrict = false // private addresses
	p.AllowDuplicateIP = false
	// Redial a lost peer at least this often, so that a healed
	// partition reconnects within seconds.
	p.PersistentPeersMaxDialPeriod = 5 * time.Second
	c.Comet.RPC.ListenAddress = fmt.Sprintf("tcp://0.0.0.0:%d", RPCPort)
	c.Comet.Instrumentation.Prometheus = true
	c.Comet.Instrumentation.PrometheusListenAddr = fmt.Sprintf("0.0.0.0:%d", MetricsPort)
	c.App.ReadyListenAddr = fmt.Sprintf("tcp://0.0.0.0:%d", ReadyPort)
	// Each container listens on every service's fixed port; the testnet's
	// loopback ports (base+10i+…) would collide with them.
	c.App.PublicListenAddr = fmt.Sprintf("tcp://0.0.0.0:%d", PublicPort)
	c.App.ReadyMinPeers = min(1, len(nw.Nodes)-1)
	c.App.ChainID = chainID
	cs := c.Comet.Consensus
	if opts.TimeoutPropose > 0 {
		cs.TimeoutPropose = opts.TimeoutPropose
		cs.TimeoutProposeDelta = opts.TimeoutPropose / 4
	}
	if opts.TimeoutVote > 0 {
		cs.TimeoutPrevote, cs.TimeoutPrecommit = opts.TimeoutVote, opts.TimeoutVote
		cs.TimeoutPrevoteDelta, cs.TimeoutPrecommitDelta = opts.TimeoutVote/2, opts.TimeoutVote/2
	}
	if opts.TimeoutCommit > 0 {
		cs.TimeoutCommit = opts.TimeoutCommit
	}
	if opts.Tune != nil {
		opts.Tune(i, c)
	}
	if err := c.Save(); err != nil {
		return fmt.Errorf("docker: node %d: %w", i, err)
	}
	return nil
}

// writeCompose writes the compose file. Node homes under dir are mounted
// by relative path, so the directory can be moved as a whole.
func writeCompose(dir string, nw *Network, user string) error {
	type svc struct {
		Node
		Volume string
	}
	var svcs []svc
	for _, n := range nw.Nodes {
		src := n.Home
		if rel, err := filepath.Rel(dir, n.Home); err == nil && !strings.HasPrefix(rel, "..") {
			src = "./" + filepath.ToSlash(rel)
		}
		svcs = append(svcs, svc{Node: n, Volume: src + ":" + HomeInContainer})
	}
	var b strings.Builder
	err := composeTemplate.Execute(&b, struct {
		*Network
		User     string
		Services []svc
		Home     string
	}{nw, user, svcs, HomeInContainer})
	if err != nil {
		return fmt.Errorf("docker: render compose file: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ComposeFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	return nil
}

// composeTemplate is the compose file. Format 2.4 is read by both
// docker-compose 1.x and the docker compose plugin. Values are quoted JSON
// strings (valid YAML), so no name can break the file.
var composeTemplate = template.Must(template.New("compose").Funcs(template.FuncMap{
	"q": func(s string) string { bz, _ := json.Marshal(s); return string(bz) },
}).Parse(`# Written by github.com/mykeyledger/mykey/docker from a mykeyd testnet; see
# ` + NetworkFile + ` for the nodes' addresses. Start: docker compose -p {{ .Project }} up -d
version: "2.4"
services:
{{- range .Services }}
  {{ .Service }}:
    image: {{ q $.Image }}
    container_name: {{ q .Container }}
{{- if $.User }}
    user: {{ q $.User }}
{{- end }}
    command: ["start", "--home", {{ q $.Home }}]
    volumes:
      - {{ q .Volume }}
    networks:
      p2p:
        ipv4_address: {{ q .P2PIP }}
      api:
        ipv4_address: {{ q .APIIP }}
    stop_signal: SIGTERM
    stop_grace_period: 30s
    labels:
      org.mykeyledger.node: {{ q .Name }}
{{- end }}
networks:
  p2p:
    name: {{ q .P2PNetwork }}
    internal: true
    ipam:
      config:
        - subnet: {{ q .P2PSubnet }}
  api:
    name: {{ q .APINetwork }}
    internal: true
    ipam:
      config:
        - subnet: {{ q .APISubnet }}
`))

// LoadNetwork reads the docker-network.json Generate wrote in dir.
func LoadNetwork(dir string) (*Network, error) {
	bz, err := os.ReadFile(filepath.Join(dir, NetworkFile))
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	var nw Network
	if err := json.Unmarshal(bz, &nw); err != nil {
		return nil, fmt.Errorf("docker: %s: %w", filepath.Join(dir, NetworkFile), err)
	}
	return &nw, nil
}
