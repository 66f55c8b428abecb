package scope_test

import (
	"path"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
)

func TestWithinKnownCases(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"acme/web", "acme/*", true},
		{"acme/*", "acme/*", true},
		{"acme/*", "*/*", true},
		{"acme/web", "*/web", true},
		{"a?c", "a*", true},
		{"[ab]x", "?x", true},
		{"a", "[a-c]", true},
		{"a*b*", "a*", true},
		{`a\*`, "a?", true},
		{"acme/?", "acme/*", true},
		{"acme/*", "acme/?", false},
		{"*/web", "acme/*", false},
		{"a/b", "a*", false},
		{"[^a]", "?", false}, // a class may match "/"
		{"*", "a*", false},
		{"acme/*/x", "acme/*", false},
		{"acme/web", "acme/api", false},
		{"ab", "a", false},
		{"a", "ab", false},
		{"a*", "a*b", false},
	}
	for _, tt := range tests {
		if got := scope.Within(tt.a, tt.b); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestWithinIsSound checks on a corpus of names that whenever Within says
// a ⊆ b, no name matched by a escapes b.
func TestWithinIsSound(t *testing.T) {
	patterns := []string{
		"*", "?", "a", "a*", "*a", "a?", "?a", "a/*", "*/a", "*/*", "a/b", "a/?", "[ab]", "[^a]", "[a-c]*",
		"[/]", "a[/]b", "*b*", "a*b", "ab*", "??", "?/?", `\*`, `a\?`, "[*]", "a/*/b", "*/*/*",
	}
	names := []string{
		"", "a", "b", "c", "ab", "ba", "aa", "abc", "a/b", "a/a", "b/a", "a/b/c", "a/c/b", "/", "a/", "/a",
		"*", "?", "a*", "a?", "ab/ba", "xa", "ax", "a/xb", "axb", "a//b",
	}
	for _, a := range patterns {
		for _, b := range patterns {
			if !scope.Within(a, b) {
				continue
			}
			for _, n := range names {
				inA, _ := path.Match(a, n)
				inB, _ := path.Match(b, n)
				if inA && !inB {
					t.Errorf("Within(%q, %q) but %q matches only the first", a, b, n)
				}
			}
		}
	}
}
