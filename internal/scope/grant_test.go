package scope_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
)

func TestParseGrantCanonicalForm(t *testing.T) {
	c := scope.DefaultCatalog()
	tests := []struct{ in, want string }{
		{"repo", "repo"},
		{"  repo:read ", "repo:read"},
		{"*", "*"},
		{"repo:read=acme/*", "repo:read=acme/*"},
		{" repo:read = acme/web , acme/* ", "repo:read=acme/*,acme/web"},
		{"repo=b/*,a/*,b/*", "repo=a/*,b/*"},
		{"repo=*", "repo"},
		{"repo=acme/*,*", "repo"},
		{"machine=prod-?", "machine=prod-?"},
		{"service=api,[ab]-worker", "service=[ab]-worker,api"},
		{"job=nightly=1", "job=nightly=1"},
		{"repo=" + strings.Repeat("a", 200), "repo=" + strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := c.ParseGrant(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			again, err := c.ParseGrant(g.String())
			if err != nil || again.String() != tt.want {
				t.Errorf("canonical form does not round-trip: %q, %v", again.String(), err)
			}
		})
	}
}

func TestGrantStringSortsHandBuiltPatterns(t *testing.T) {
	g := scope.Grant{Scope: "repo", Resources: []string{"b/*", "a/*", "b/*"}}
	if got := g.String(); got != "repo=a/*,b/*" {
		t.Errorf("String() = %q", got)
	}
	if got := (scope.Grant{Scope: "repo", Resources: []string{}}).String(); got != "repo" {
		t.Errorf("empty Resources: String() = %q, want any resource", got)
	}
	if g.Resources[0] != "b/*" {
		t.Error("String reordered the caller's slice")
	}
}

func TestParseGrantRejectsBadInput(t *testing.T) {
	c := scope.DefaultCatalog()
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{"empty", `"repo:read"`}},
		{"   ", []string{"empty"}},
		{"rep", []string{`unknown scope "rep"`, "known scopes: *, repo, repo:read, machine"}},
		{"REPO", []string{`unknown scope "REPO"`}},
		{"admin:org=acme", []string{`"admin:org" cannot be narrowed`, "narrowable scopes: repo, repo:read, machine, service, job"}},
		{"*=acme/*", []string{`"*" cannot be narrowed`}},
		{"repo=", []string{"pattern is empty"}},
		{"repo=a/*,,b/*", []string{"pattern is empty"}},
		{"repo=acme web", []string{"whitespace"}},
		{"repo=acme\x01", []string{"control character"}},
		{"repo=acme\xff", []string{"UTF-8"}},
		{"repo=[acme", []string{"not a valid glob"}},
		{"repo=acme\\", []string{"not a valid glob"}},
		{"repo=" + strings.Repeat("a", 201), []string{"201 characters", "limit is 200"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := c.ParseGrant(tt.in)
			if err == nil {
				t.Fatal("ParseGrant succeeded, want an error")
			}
			if !errors.Is(err, scope.ErrInvalid) {
				t.Errorf("error is not ErrInvalid: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "invalid scope ") {
				t.Errorf("error %q does not start by naming the input", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseSetMergesAndSorts(t *testing.T) {
	c := scope.DefaultCatalog()
	tests := []struct {
		name      string
		in        []string
		want      []string
		wantNames []string
	}{
		{"empty", nil, []string{}, []string{}},
		{"sorted", []string{"tokens", "repo:read"}, []string{"repo:read", "tokens"}, []string{"repo:read", "tokens"}},
		{"patterns united", []string{"repo=b/*", "repo=a/*"}, []string{"repo=a/*,b/*"}, []string{"repo", "repo:read"}},
		{"any absorbs patterns", []string{"repo=a/*", "repo", "repo=b/*"}, []string{"repo"}, []string{"repo", "repo:read"}},
		{"duplicates", []string{"job", "job"}, []string{"job"}, []string{"job"}},
		{"given, not expanded", []string{"repo", "repo:read=x/*"}, []string{"repo", "repo:read=x/*"}, []string{"repo", "repo:read"}},
		{"super admin stands for itself", []string{"*"}, []string{"*"}, []string{"*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.ParseSet(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Strings(); !slices.Equal(got, tt.want) {
				t.Errorf("Strings = %q, want %q", got, tt.want)
			}
			if got := s.Names(); !slices.Equal(got, tt.wantNames) {
				t.Errorf("Names = %q, want %q", got, tt.wantNames)
			}
			var fromGrants []string
			for _, g := range s.Grants() {
				fromGrants = append(fromGrants, g.String())
			}
			if !slices.Equal(fromGrants, s.Strings()) {
				t.Errorf("Grants %q disagree with Strings %q", fromGrants, s.Strings())
			}
		})
	}
}

func TestParseSetNamesTheOffendingEntry(t *testing.T) {
	_, err := scope.DefaultCatalog().ParseSet([]string{"repo", "tokens", "rep=acme/*"})
	if err == nil {
		t.Fatal("ParseSet succeeded")
	}
	if !errors.Is(err, scope.ErrInvalid) || !strings.Contains(err.Error(), `scope 3 of 3: invalid scope "rep=acme/*": unknown scope "rep"`) {
		t.Errorf("error = %v", err)
	}
}

func TestSetGrantsAreCopies(t *testing.T) {
	s := mustSet(t, "repo=a/*")
	s.Grants()[0].Resources[0] = "b/*"
	if !s.Allows("repo", "a/x") || s.Allows("repo", "b/x") {
		t.Fatal("changing the result of Grants changed the set")
	}
}

func mustSet(t testing.TB, grants ...string) scope.Set {
	t.Helper()
	s, err := scope.DefaultCatalog().ParseSet(grants)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
