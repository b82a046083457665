package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A phase's CPU profile is asked for as long as the phase sends and saved
// under its name; a node that does not answer with one is an error that
// names it.
func TestProfile(t *testing.T) {
	var asked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.RawQuery
		if r.URL.Path != "/debug/pprof/profile" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("profile bytes"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	g := &loadgen{duration: 2 * time.Second, profileURL: srv.URL + "/debug/pprof/profile", profileDir: dir}
	r := <-g.profile(context.Background(), "links-w128.pprof")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "links-w128.pprof")); err != nil || string(b) != "profile bytes" || r.file != filepath.Join(dir, "links-w128.pprof") {
		t.Fatalf("profile file %q: %q %v", r.file, b, err)
	}
	if asked != "seconds=2" {
		t.Fatalf("asked for %q, want seconds=2 (the phase's duration)", asked)
	}
	g.profileURL = srv.URL + "/nothing"
	if r := <-g.profile(context.Background(), "x.pprof"); r.err == nil || !strings.Contains(r.err.Error(), "404") {
		t.Fatalf("a 404 gave %v", r.err)
	}
	g.profileURL = ""
	if g.profile(context.Background(), "y.pprof") != nil {
		t.Fatal("profiling without --profile-url")
	}
}
