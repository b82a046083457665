package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profResult is where a node's CPU profile went, or why it did not.
type profResult struct {
	file string
	err  error
}

// maxProfile bounds one CPU profile.
const maxProfile = 30 * time.Second

// profile starts a CPU profile of the node at g.profileURL for as long as
// a phase sends (g.duration, at most maxProfile) and returns where its
// result will arrive: the file name under g.profileDir. It returns nil
// without --profile-url or --duration.
func (g *loadgen) profile(ctx context.Context, name string) <-chan profResult {
	if g.profileURL == "" || g.duration <= 0 {
		return nil
	}
	secs := int(min(g.duration, maxProfile) / time.Second)
	out := make(chan profResult, 1)
	go func() {
		file := filepath.Join(g.profileDir, name)
		url := fmt.Sprintf("%s?seconds=%d", g.profileURL, max(secs, 1))
		out <- profResult{file, fetchProfile(ctx, url, file, time.Duration(secs)*time.Second+30*time.Second)}
	}()
	return out
}

// fetchProfile saves what url answers (a pprof profile) in file.
func fetchProfile(ctx context.Context, url, file string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile from %s: %w (is the node's pprof_laddr set?)", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 200))
		return fmt.Errorf("CPU profile from %s: %s: %s", url, res.Status, b)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("CPU profile from %s: %w", url, err)
	}
	if len(body) == 0 {
		return fmt.Errorf("CPU profile from %s: empty answer", url)
	}
	return os.WriteFile(file, body, 0o644)
}
