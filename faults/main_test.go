package faults

import (
	"os"
	"testing"

	"github.com/mykeyledger/mykey/internal/testnet"
)

func TestMain(m *testing.M) { os.Exit(testnet.Main(m)) }
