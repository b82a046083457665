package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/genesis"
)

// InitOptions configure InitHome.
type InitOptions struct {
	Home    string
	ChainID string
	Moniker string
	// Genesis, if set, is the network's genesis.json to install; it must
	// be for ChainID.
	Genesis string
	// Peers is a comma-separated list of ID@host:port persistent peers.
	Peers string
	// Listen addresses; "" keeps the defaults (P2P tcp://0.0.0.0:26656,
	// RPC tcp://127.0.0.1:26657, Prometheus 127.0.0.1:26660, readiness
	// tcp://127.0.0.1:26680, public endpoint tcp://127.0.0.1:26670).
	P2PListen, RPCListen, MetricsListen, ReadyListen, PublicListen string
	// PseudonymKey, if set, is a network pseudonym key file (from the
	// government's key ceremony, or another node of the network) to
	// install. Without it a node with no key gets a new one, unless
	// Genesis is set: a node joining a network must hold that network's
	// key, which no one can generate.
	PseudonymKey string
	// MemoryLimitMiB is the node's memory budget (mykey.memory_limit_mib);
	// 0 keeps DefaultMemoryLimitMiB.
	MemoryLimitMiB int64
}

// InitResult is what InitHome made or found.
type InitResult struct {
	Config *Config
	NodeID p2p.ID
	// ValidatorKey is the ed25519 public key of the node's validator key,
	// which genesis lists as the government's or a provider's
	// validator_key.
	ValidatorKey []byte
	// PseudonymCommitment is the commitment to the node's pseudonym key,
	// what genesis holds as pseudonym_commitment; nil if it has no key.
	PseudonymCommitment []byte
	// Created lists the files written; existing files are kept.
	Created []string
}

// InitHome prepares a node's home directory: config/config.toml (with
// mykey.chain_id), the node key, the validator key and its state, and,
// if given, the genesis file. Files that already exist are kept, so
// running it twice is harmless: the second time only the genesis file and
// the persistent peers are installed, if given; the other settings of an
// existing config.toml are left as they are.
func InitHome(opts InitOptions) (*InitResult, error) {
	if opts.Home == "" {
		return nil, errors.New("node: init needs a home directory")
	}
	if opts.ChainID == "" {
		return nil, errors.New("node: init needs a chain ID")
	}
	res := &InitResult{}
	var c *Config
	if _, err := os.Stat(ConfigPath(opts.Home)); err == nil {
		if c, err = LoadConfig(opts.Home); err != nil {
			return nil, err
		}
		if c.App.ChainID != "" && c.App.ChainID != opts.ChainID {
			return nil, fmt.Errorf("node: %s is already set up for chain %q", opts.Home, c.App.ChainID)
		}
		// Peers are usually known only once the genesis is: a second
		// init with --genesis and --peers sets them.
		if opts.Peers != "" && opts.Peers != c.Comet.P2P.PersistentPeers {
			c.Comet.P2P.PersistentPeers = opts.Peers
			if err := c.Save(); err != nil {
				return nil, err
			}
		}
	} else {
		c = DefaultConfig(opts.Home)
		c.App.ChainID = opts.ChainID
		if opts.Moniker != "" {
			c.Comet.Moniker = opts.Moniker
		}
		c.Comet.P2P.PersistentPeers = opts.Peers
		setIf(&c.Comet.P2P.ListenAddress, opts.P2PListen)
		setIf(&c.Comet.RPC.ListenAddress, opts.RPCListen)
		setIf(&c.Comet.Instrumentation.PrometheusListenAddr, opts.MetricsListen)
		setIf(&c.App.ReadyListenAddr, opts.ReadyListen)
		setIf(&c.App.PublicListenAddr, opts.PublicListen)
		if opts.MemoryLimitMiB != 0 {
			c.App.MemoryLimitMiB = opts.MemoryLimitMiB
		}
		if err := c.Save(); err != nil {
			return nil, err
		}
		res.Created = append(res.Created, ConfigPath(opts.Home))
	}
	res.Config = c

	nodeKeyFile := c.Comet.NodeKeyFile()
	if !exists(nodeKeyFile) {
		res.Created = append(res.Created, nodeKeyFile)
	}
	nk, err := p2p.LoadOrGenNodeKey(nodeKeyFile)
	if err != nil {
		return nil, fmt.Errorf("node: node key: %w", err)
	}
	res.NodeID = nk.ID()

	keyFile, stateFile := c.Comet.PrivValidatorKeyFile(), c.Comet.PrivValidatorStateFile()
	var pub crypto.PubKey
	if exists(keyFile) {
		key, err := loadValidatorKey(c.Comet)
		if err != nil {
			return nil, err
		}
		pub = key.PubKey
	} else {
		pv, err := privval.GenFilePV(keyFile, stateFile, func() (crypto.PrivKey, error) { return ed25519.GenPrivKey(), nil })
		if err != nil {
			return nil, fmt.Errorf("node: validator key: %w", err)
		}
		pv.Save()
		pub = pv.Key.PubKey
		res.Created = append(res.Created, keyFile, stateFile)
	}
	res.ValidatorKey = pub.Bytes()

	if err := initPseudonymKey(c, opts, res); err != nil {
		return nil, err
	}

	if opts.Genesis != "" {
		created, err := installGenesis(opts.Genesis, c.Comet.GenesisFile(), opts.ChainID, c.PseudonymKeyPath())
		if err != nil {
			return nil, err
		}
		if created {
			res.Created = append(res.Created, c.Comet.GenesisFile())
		}
	}
	return res, nil
}

// installGenesis checks the genesis file at src and copies it to dst. It
// reports whether it wrote dst; an identical dst is left alone, a
// different one is an error.
// The node's pseudonym key, in keyFile, must be the one it commits to; a
// missing key is left for the operator to install.
func installGenesis(src, dst, chainID, keyFile string) (bool, error) {
	doc, err := genesis.Load(src)
	if err != nil {
		return false, fmt.Errorf("node: %w", err)
	}
	if doc.ChainID != chainID {
		return false, fmt.Errorf("node: %s is for chain %q, not %q", src, doc.ChainID, chainID)
	}
	if err := checkPseudonymKey(keyFile, doc.AppState.PseudonymCommitment); err != nil {
		return false, err
	}
	bz, err := os.ReadFile(src)
	if err != nil {
		return false, fmt.Errorf("node: %w", err)
	}
	if old, err := os.ReadFile(dst); err == nil {
		if bytes.Equal(old, bz) {
			return false, nil
		}
		return false, fmt.Errorf("node: %s exists and differs from %s; remove it first if you mean to replace it", dst, src)
	}
	return true, writeFileAtomic(dst, bz, 0o644)
}

// initPseudonymKey installs opts.PseudonymKey, or generates a key for a
// node with none that is not joining a network (no genesis given).
func initPseudonymKey(c *Config, opts InitOptions, res *InitResult) error {
	path := c.PseudonymKeyPath()
	switch {
	case opts.PseudonymKey != "":
		key, err := pseudonym.LoadFile(opts.PseudonymKey)
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		if exists(path) {
			have, err := pseudonym.LoadFile(path)
			if err != nil {
				return fmt.Errorf("node: %w", err)
			}
			if have != key {
				return fmt.Errorf("node: %s holds another pseudonym key; remove it first if you mean to replace it", path)
			}
		} else {
			if err := pseudonym.WriteFile(path, key); err != nil {
				return fmt.Errorf("node: pseudonym key: %w", err)
			}
			res.Created = append(res.Created, path)
		}
	case !exists(path) && opts.Genesis == "":
		key, err := pseudonym.Generate()
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		if err := pseudonym.WriteFile(path, key); err != nil {
			return fmt.Errorf("node: pseudonym key: %w", err)
		}
		res.Created = append(res.Created, path)
	}
	if !exists(path) {
		return nil
	}
	key, err := pseudonym.LoadFile(path)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	res.PseudonymCommitment = pseudonym.Commitment(key)
	return nil
}

// checkPseudonymKey checks the key in path, if there is one, against a
// genesis commitment.
func checkPseudonymKey(path string, commitment []byte) error {
	key, err := pseudonym.LoadFile(path)
	if errors.Is(err, pseudonym.ErrNoKeyFile) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if !pseudonym.Matches(key, commitment) {
		return fmt.Errorf("node: %w", pseudonym.MismatchError(path, false))
	}
	return nil
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ValidatorPubKey returns the public key of the node's validator key.
func ValidatorPubKey(c *Config) (crypto.PubKey, error) {
	key, err := loadValidatorKey(c.Comet)
	if err != nil {
		return nil, err
	}
	return key.PubKey, nil
}
