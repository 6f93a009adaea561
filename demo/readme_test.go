package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestREADME runs the README's first command — the demo, with the
// defaults the README describes — and checks that every line of the
// README's excerpt of its output is a line of what it prints, so the
// README shows what a new user sees.
func TestREADME(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	first := strings.Index(readme, "```sh\n")
	if first < 0 {
		t.Fatal("the README has no sh block")
	}
	cmd, _, _ := strings.Cut(readme[first+len("```sh\n"):], "\n")
	if cmd, _, _ = strings.Cut(cmd, "#"); strings.TrimSpace(cmd) != "go run ./cmd/octobundle demo" {
		t.Fatalf("the README's first command is %q; this test runs the demo", cmd)
	}
	i := strings.Index(readme, "Excerpts of what it prints")
	if i < 0 {
		t.Fatal("the README has no excerpt of the demo's output")
	}
	block := readme[i:]
	block = block[strings.Index(block, "```\n")+4:]
	block = block[:strings.Index(block, "```")]

	var stdout bytes.Buffer
	// The demo's defaults (cmd/octobundle demo), from the repository root.
	if _, err := Run(context.Background(), Options{
		Out:             t.TempDir(),
		SourceSeed:      "../testdata/instances/source.json",
		DestinationSeed: "../testdata/instances/destination.json",
		Rules:           []string{"../testdata/rules/staging-production.yaml"},
		ToolVersion:     "test",
		Stdout:          &stdout,
	}); err != nil {
		t.Fatalf("demo: %v", err)
	}
	// Paths print as given: the README runs from the root.
	out := strings.ReplaceAll(stdout.String(), "../testdata/", "testdata/")
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	n := 0
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		n++
		if !lines[l] {
			t.Errorf("README excerpt line not printed by the demo:\n  %s", l)
		}
	}
	if n < 10 {
		t.Errorf("the README's excerpt has %d lines", n)
	}
}
