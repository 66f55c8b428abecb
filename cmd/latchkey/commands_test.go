package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryCommandHasHelpWithExamples walks the whole command tree: every
// command a user can run has a summary and examples in its --help.
func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	root := newRootCmd(newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "__complete" || c.Name() == "__completeNoDesc" {
			return
		}
		n++
		if c.Short == "" {
			t.Errorf("%q has no short description", c.CommandPath())
		}
		// Leaves show examples; a parent may instead leave them to its
		// subcommands.
		if c.Runnable() && c != root && c.Name() != "version" && c.Example == "" && !c.HasAvailableSubCommands() {
			t.Errorf("%q has no examples in its --help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 40 {
		t.Errorf("walked %d commands; the tree looks incomplete", n)
	}
}

func TestHumanTime(t *testing.T) {
	now := mustTime(t, "2026-06-01T12:00:00Z")
	cases := []struct {
		at, want string
	}{
		{"2026-06-01T12:00:10Z", "in a few seconds"},
		{"2026-06-01T11:59:50Z", "just now"},
		{"2026-06-01T12:05:00Z", "in 5 minutes"},
		{"2026-06-01T10:00:00Z", "2 hours ago"},
		{"2026-06-02T11:00:00Z", "in 23 hours"},
		{"2026-06-06T12:00:00Z", "in 5 days"},
		{"2026-07-01T11:59:59Z", "in 30 days"},
		{"2026-05-31T12:00:00Z", "24 hours ago"},
		{"2026-05-29T12:00:00Z", "3 days ago"},
		{"2026-09-01T12:00:00Z", "in 3 months"},
		{"2029-06-01T12:00:00Z", "in 3 years"},
	}
	for _, c := range cases {
		if got := humanTime(mustTime(t, c.at), now); got != c.want {
			t.Errorf("humanTime(%s) = %q, want %q", c.at, got, c.want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestDocsDescribeEveryCommandAndFlag keeps docs/cli.md in step with the
// command tree: every client command and every one of its flags appears.
func TestDocsDescribeEveryCommandAndFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	root := newRootCmd(newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	elsewhere := map[string]bool{"serve": true, "keys": true, "migrate": true, "version": true, "help": true, "exit-codes": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || strings.HasPrefix(c.Name(), "__") {
			return
		}
		if c != root {
			if !strings.Contains(text, c.CommandPath()) {
				t.Errorf("docs/cli.md does not mention %q", c.CommandPath())
			}
			c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden && f.Name != "help" && !strings.Contains(text, "--"+f.Name) {
					t.Errorf("docs/cli.md does not mention %s --%s", c.CommandPath(), f.Name)
				}
			})
		}
		for _, sub := range c.Commands() {
			if !elsewhere[sub.Name()] || c != root {
				walk(sub)
			}
		}
	}
	walk(root)
}
