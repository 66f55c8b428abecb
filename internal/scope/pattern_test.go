package scope_test

import (
	"path"
	"strings"
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

// The indexed intersection must agree with the plain definition: a
// pattern of one side is kept when the other side contains it, then the
// result is minimized.
func TestIntersectAgreesWithPairwiseDefinition(t *testing.T) {
	pats := []string{"acme/*", "acme/web", "acme/w?b", "acme/[a-w]eb", "tools/*", "tools/x", "*/web", "acme/*-api",
		"acme/billing-api", "acme/*eb", "a*", "acme/web/*", "other", "acme/we*", "*"}
	cat := scope.DefaultCatalog()
	for i := 0; i < 400; i++ {
		var a, b []string
		for j, p := range pats {
			if (i>>uint(j%9))&1 == 1 && p != "*" {
				a = append(a, p)
			}
			if (i*7+j)%3 == 0 && p != "*" {
				b = append(b, p)
			}
		}
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		sa, err := cat.ParseSet([]string{"repo:read=" + strings.Join(a, ",")})
		if err != nil {
			t.Fatal(err)
		}
		sb, err := cat.ParseSet([]string{"repo:read=" + strings.Join(b, ",")})
		if err != nil {
			t.Fatal(err)
		}
		got := sa.Intersect(sb)
		// Every resource the result allows, both sides allow; every pattern
		// of one side inside the other side survives.
		for _, r := range []string{"acme/web", "acme/wxb", "acme/billing-api", "tools/x", "other", "acme/web/x", "zzz/web", "acme/eb"} {
			if got.Allows("repo:read", r) && !(sa.Allows("repo:read", r) && sb.Allows("repo:read", r)) {
				t.Fatalf("%v ∩ %v = %v allows %q", a, b, got.Strings(), r)
			}
		}
		for _, side := range [][2][]string{{a, b}, {b, a}} {
			for _, p := range side[0] {
				for _, q := range side[1] {
					if scope.Within(p, q) && !got.Covers(mustSet(t, "repo:read="+p)) {
						t.Fatalf("%v ∩ %v = %v lost %q (within %q)", a, b, got.Strings(), p, q)
					}
				}
			}
		}
	}
}
