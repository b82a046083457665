package faults

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testnet"
)

// Environment variables of the suite.
const (
	// envRequireDocker=1 turns "Docker is not available" from a skip
	// into a failure (CI sets it).
	envRequireDocker = "MYKEY_REQUIRE_DOCKER"
	// envReport names a file the report is also written to.
	envReport = "MYKEY_FAULTS_REPORT"
	// envKeep names a directory to keep the run directory in.
	envKeep = "MYKEY_FAULTS_KEEP"
	// envFuzzTime is the duration of TestFuzzCheckTx (default 30s).
	envFuzzTime = "MYKEY_FUZZTIME"
)

// namePrefix starts the name of every container, network and image the
// suite creates.
const namePrefix = "mykey-faults-"

// suiteBudget is how long TestFaults may need, building included (it
// takes about five minutes on 2 cores).
const suiteBudget = 9 * time.Minute

// dockerEnv is a working Docker with compose.
type dockerEnv struct {
	compose []string // "docker compose" or "docker-compose"
}

// needDocker returns the Docker environment, or skips the test (fails it
// if MYKEY_REQUIRE_DOCKER=1) when Docker or compose is not usable.
func needDocker(t *testing.T) *dockerEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("faults: runs a Docker network for a few minutes; skipped with -short")
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(envRequireDocker) == "1" {
			t.Fatalf("faults: %s; %s=1, so the fault suite must run: install and start Docker with compose", msg, envRequireDocker)
		}
		t.Skipf("faults: %s; skipping the fault suite (set %s=1 to make this a failure)", msg, envRequireDocker)
	}
	out, err := run(30*time.Second, "docker", "info", "--format", "{{.ServerVersion}}")
	if err != nil {
		unavailable("Docker is not available (`docker info`: %v)", err)
	}
	d := &dockerEnv{}
	if _, err := run(30*time.Second, "docker", "compose", "version"); err == nil {
		d.compose = []string{"docker", "compose"}
	} else if _, err := run(30*time.Second, "docker-compose", "version"); err == nil {
		d.compose = []string{"docker-compose"}
	} else {
		unavailable("Docker %s has no compose (neither `docker compose` nor `docker-compose`)", strings.TrimSpace(out))
	}
	if dl, ok := t.Deadline(); ok && time.Until(dl) < suiteBudget {
		t.Fatalf("faults: the suite needs up to %s but the test deadline is in %s: run go test with -timeout 10m or more (scripts/faults.sh gives 25m)",
			suiteBudget, time.Until(dl).Round(time.Second))
	}
	return d
}

// run runs a command with a timeout and returns its combined output; the
// error carries the output.
func run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return runCtx(ctx, nil, name, args...)
}

func runCtx(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = "…" + msg[len(msg)-2000:]
		}
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out.String(), nil
}

// repoRoot is the module root (this package's parent directory).
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("faults: no go.mod in %s: run the tests from the package directory", root)
	}
	return root
}

// binaries returns the static mykeyd (internal/testnet builds it without
// cgo), linked into dir/image as the image's build context, and mykey (the
// client the storms run).
func binaries(t *testing.T, dir string) (mykeyd, mykey string) {
	t.Helper()
	built := testnet.Mykeyd(t)
	if err := checkStatic(built); err != nil {
		t.Fatalf("faults: %v", err)
	}
	mykeyd = filepath.Join(dir, "image", "mykeyd")
	if err := os.MkdirAll(filepath.Dir(mykeyd), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(built, mykeyd); err != nil {
		if _, err := run(time.Minute, "cp", built, mykeyd); err != nil {
			t.Fatalf("faults: %v", err)
		}
	}
	return mykeyd, testnet.Mykey(t)
}

// checkStatic refuses a binary that needs a dynamic loader: an image
// FROM scratch has none.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; an image FROM scratch needs a static binary", path)
		}
	}
	return nil
}

// staleRE matches names the suite gives, with the PID of the test process
// that created them.
var staleRE = regexp.MustCompile(`^` + namePrefix + `(\d+)-[0-9a-z]+`)

// sweepStale removes containers, networks and images left by an earlier
// run of this suite whose test process is gone (killed by a test
// timeout, say). Anything of a live process is left alone.
func sweepStale(t *testing.T) {
	t.Helper()
	dead := func(name string) bool {
		m := staleRE.FindStringSubmatch(strings.TrimPrefix(name, "/"))
		if m == nil {
			return false
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			return false
		}
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	list := func(args ...string) []string {
		out, err := run(30*time.Second, "docker", args...)
		if err != nil {
			return nil
		}
		return strings.Fields(out)
	}
	for _, c := range list("ps", "-a", "--filter", "name="+namePrefix, "--format", "{{.Names}}") {
		if dead(c) {
			t.Logf("faults: removing container %s left by an earlier run", c)
			_, _ = run(60*time.Second, "docker", "rm", "-f", c)
		}
	}
	for _, n := range list("network", "ls", "--filter", "name="+namePrefix, "--format", "{{.Name}}") {
		if dead(n) {
			t.Logf("faults: removing network %s left by an earlier run", n)
			_, _ = run(60*time.Second, "docker", "network", "rm", n)
		}
	}
	for _, im := range list("images", "--format", "{{.Repository}}:{{.Tag}}") {
		if strings.HasPrefix(im, namePrefix) && dead(im) {
			t.Logf("faults: removing image %s left by an earlier run", im)
			_, _ = run(60*time.Second, "docker", "rmi", "-f", im)
		}
	}
}

// keepRunDir copies the run directory to $MYKEY_FAULTS_KEEP, if set.
func keepRunDir(t *testing.T, dir string) {
	dst := os.Getenv(envKeep)
	if dst == "" {
		return
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Logf("faults: keep: %v", err)
		return
	}
	target := filepath.Join(dst, filepath.Base(dir))
	if _, err := run(5*time.Minute, "cp", "-a", dir, target); err != nil {
		t.Logf("faults: keep: %v", err)
		return
	}
	t.Logf("faults: run directory kept in %s", target)
}
