package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// The authorization matrix: every API route, called by every kind of
// caller, on resources of every kind of owner, with the status each cell
// must answer. The rules come from DESIGN.md and the docs:
//
//   - a credential's power is its scopes ∩ its owner's role; a session
//     carries the full role; a PAT needs "tokens" to manage tokens (and
//     sessions), "admin:org" to administer;
//   - members see and touch only their own tokens, users and sessions, and
//     what is not theirs looks absent (404, not 403);
//   - admins manage everyone's, but only owners widen, regenerate, create
//     for, set the password or email of, suspend, demote or delete an owner;
//   - another person's password is set with a login session, never a token;
//   - nobody raises their own role; the last owner stays;
//   - a fed token mints no lasting secret, and widens no token;
//   - a suspended user's, a revoked and an expired token answer 401 at once.

// matrixActor is one caller of the matrix.
type matrixActor struct {
	name   string
	user   string // the key in matrixWorld.users of whose credential it is
	secret string
	dead   bool // a credential that must be refused (401) everywhere
}

// Actor names, in the order of the matrix's columns.
var matrixActors = []string{
	"owner", "admin", "member", "member2",
	"m.none", "m.repo", "m.tokens", "m.introspect",
	"a.adminorg", "a.tokens", "a.star",
	"svc", "fed",
	"suspended", "revoked", "expired", "anonymous",
}

// Groups of actors that rows name together.
var matrixGroups = map[string][]string{
	// owners and admins acting with admin:org
	"admins": {"owner", "admin", "a.star"},
	// credentials that may not manage tokens or sessions
	"notokens": {"m.none", "m.repo", "m.introspect", "a.adminorg"},
	// every credential the server must refuse
	"dead": {"suspended", "revoked", "expired", "anonymous"},
}

// want maps space-separated actor names or groups to a status; "*" is
// every live actor not named. Dead actors answer 401 unless named.
type want map[string]int

// matrixRow is one request, sent by every actor.
type matrixRow struct {
	name   string
	method string
	path   string // with placeholders, see matrixWorld.expand
	body   any    // JSON-encoded, then placeholders expanded
	want   want
}

const matrixPassword = "matrix-password-1"

func TestAuthzMatrix(t *testing.T) {
	w := newMatrixWorld(t)
	for _, row := range matrixRows() {
		t.Run(row.name, func(t *testing.T) {
			expected := row.want.resolve(t)
			var bad []string
			for _, name := range matrixActors {
				a := w.actors[name]
				path, body := w.expand(t, a, row.path), w.expandBody(t, a, row.body)
				status, out, hdr := w.send(t, a, row.method, path, body)
				if status != expected[name] {
					bad = append(bad, fmt.Sprintf("%-12s %s %s: got %d, want %d: %.300s", name, row.method, path, status, expected[name], out))
					continue
				}
				checkProblem(t, name, row.method, path, status, hdr, out)
			}
			if len(bad) > 0 {
				t.Errorf("%d cells wrong:\n%s", len(bad), strings.Join(bad, "\n"))
			}
		})
	}
}

// resolve turns the row's want into a status per actor, and fails the test
// when a row names an actor twice or an unknown name.
func (wt want) resolve(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for key, status := range wt {
		if key == "*" {
			continue
		}
		for _, name := range strings.Fields(key) {
			names := matrixGroups[name]
			if names == nil {
				if !slices.Contains(matrixActors, name) {
					t.Fatalf("want names unknown actor %q", name)
				}
				names = []string{name}
			}
			for _, n := range names {
				if _, dup := out[n]; dup {
					t.Fatalf("want names %q twice", n)
				}
				out[n] = status
			}
		}
	}
	for _, n := range matrixActors {
		if _, ok := out[n]; ok {
			continue
		}
		if slices.Contains(matrixGroups["dead"], n) {
			out[n] = http.StatusUnauthorized
			continue
		}
		def, ok := wt["*"]
		if !ok {
			t.Fatalf("want has no status for %q and no \"*\"", n)
		}
		out[n] = def
	}
	return out
}

// checkProblem checks that an API refusal is problem+json that says what
// was wrong.
func checkProblem(t *testing.T, actor, method, path string, status int, hdr http.Header, body []byte) {
	t.Helper()
	if status < 400 || !strings.HasPrefix(path, "/api/") {
		return
	}
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Status != status || len(p.Detail) < 10 {
		t.Errorf("%s %s %s: %d is not a problem+json that explains itself (Content-Type %q): %s", actor, method, path, status, ct, body)
	}
}

func matrixRows() []matrixRow {
	const (
		ok         = http.StatusOK
		created    = http.StatusCreated
		noContent  = http.StatusNoContent
		forbidden  = http.StatusForbidden
		notFound   = http.StatusNotFound
		invalid    = http.StatusUnprocessableEntity
		badRequest = http.StatusBadRequest
	)
	// Reading or touching a token of someone else: admins do, its owner
	// does, credentials without "tokens" are refused before the id is
	// looked at, everyone else finds nothing.
	tokenOf := func(owner string) want {
		w := want{"*": notFound, "admins": ok, "notokens": forbidden}
		if owner != "" {
			w[owner] = ok
		}
		return w
	}
	with := func(w want, status int) want {
		out := want{}
		for k, v := range w {
			if v == ok {
				v = status
			}
			out[k] = v
		}
		return out
	}
	own := want{"*": ok, "notokens": forbidden}                // one's own token, with "tokens"
	adminOnly := want{"*": forbidden, "admins a.adminorg": ok} // admin:org on the organisation
	userOf := func(owner string) want {                        // GET a user
		w := want{"*": notFound, "admins a.adminorg": ok}
		if owner != "" {
			w[owner] = ok
		}
		return w
	}
	narrowBody := map[string]any{"description": "touched by the matrix"}
	widenBody := map[string]any{"scopes": []string{"repo", "tokens"}}

	return []matrixRow{
		// /api/v1/me and the public catalog.
		{"me", "GET", "/api/v1/me", nil, want{"*": ok}},
		{"scopes catalog", "GET", "/api/v1/scopes", nil, want{"*": ok, "anonymous": ok}},

		// Tokens: list.
		{"list own tokens", "GET", "/api/v1/tokens", nil, own},
		{"list every token", "GET", "/api/v1/tokens?all=true", nil, want{"*": forbidden, "admins": ok}},
		{"list another member's tokens", "GET", "/api/v1/tokens?user_id={user:member2}", nil, want{"*": forbidden, "admins member2": ok}},
		{"list an owner's tokens by name", "GET", "/api/v1/tokens?user_id=admin", nil, want{"*": forbidden, "admins": ok}},
		{"list a ghost's tokens", "GET", "/api/v1/tokens?user_id=ghost", nil, want{"*": forbidden, "admins": notFound}},
		{"list own tokens by own id", "GET", "/api/v1/tokens?user_id={user:self}", nil, own},

		// Tokens: create.
		{"create own token, no scopes", "POST", "/api/v1/tokens", map[string]any{"name": "{name}"},
			want{"*": created, "notokens": forbidden, "fed": forbidden}},
		{"create own token with repo", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "scopes": []string{"repo"}},
			want{"*": created, "notokens m.tokens a.tokens fed": forbidden}},
		{"create own token with *", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "scopes": []string{"*"}},
			want{"*": forbidden, "admins": created}},
		{"create own token with admin:org", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "scopes": []string{"admin:org"}},
			want{"*": forbidden, "admins": created}},
		{"create token for a member", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "user_id": "{user:member2}"},
			want{"*": forbidden, "admins member2": created}},
		{"create token for an admin", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "user_id": "{user:admin}"},
			want{"*": forbidden, "admins": created}},
		{"create token for an owner", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "user_id": "{user:owner}"},
			want{"*": forbidden, "owner": created}},
		{"create admin access token for a service account", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "user_id": "svc"},
			want{"*": forbidden, "admins svc": created}},
		{"create token with a kind", "POST", "/api/v1/tokens", map[string]any{"name": "{name}", "kind": "adm"},
			want{"*": invalid, "dead": invalid}},
		{"create token with an id and created_at", "POST", "/api/v1/tokens",
			map[string]any{"name": "{name}", "id": "{uuid}", "created_at": "2020-01-01T00:00:00Z"}, want{"*": invalid, "dead": invalid}},

		// Tokens: one token, by whose it is.
		{"show own token", "GET", "/api/v1/tokens/{tok:self}", nil, own},
		{"show a member's token", "GET", "/api/v1/tokens/{tok:member2}", nil, tokenOf("member2")},
		{"show an admin's token", "GET", "/api/v1/tokens/{tok:admin}", nil, tokenOf("")},
		{"show an owner's token", "GET", "/api/v1/tokens/{tok:owner}", nil, tokenOf("")},
		{"show a service account's token", "GET", "/api/v1/tokens/{tok:svc}", nil, tokenOf("svc")},
		{"show a token that does not exist", "GET", "/api/v1/tokens/{uuid}", nil, want{"*": notFound, "notokens": forbidden}},
		{"usage of a member's token", "GET", "/api/v1/tokens/{tok:member2}/usage", nil, tokenOf("member2")},
		{"usage of an owner's token", "GET", "/api/v1/tokens/{tok:owner}/usage", nil, tokenOf("")},

		{"describe own token", "PATCH", "/api/v1/tokens/{tok:self}", narrowBody, own},
		{"describe a member's token", "PATCH", "/api/v1/tokens/{tok:member2}", narrowBody, tokenOf("member2")},
		{"describe an owner's token", "PATCH", "/api/v1/tokens/{tok:owner}", narrowBody, tokenOf("")},
		{"describe a service account's token", "PATCH", "/api/v1/tokens/{tok:svc}", narrowBody, tokenOf("svc")},
		// Widening needs the actor to hold the scopes (repo, tokens), and an
		// owner's token is widened only by owners. A fed token widens no
		// token: its service account's others outlive the run.
		{"widen own token", "PATCH", "/api/v1/tokens/{tok:self}", widenBody,
			want{"*": ok, "notokens m.tokens a.tokens fed": forbidden}},
		{"drop the allowlist of own token", "PATCH", "/api/v1/tokens/{tok:self:allowlisted}", map[string]any{"ip_allowlist": []string{}},
			want{"*": ok, "notokens fed": forbidden}},
		{"widen a member's token", "PATCH", "/api/v1/tokens/{tok:member2}", widenBody, tokenOf("member2")},
		{"widen an admin's token", "PATCH", "/api/v1/tokens/{tok:admin}", widenBody, tokenOf("")},
		{"widen an owner's token", "PATCH", "/api/v1/tokens/{tok:owner}", widenBody,
			want{"*": notFound, "owner": ok, "admin a.star": forbidden, "notokens": forbidden}},
		{"drop the allowlist of an owner's token", "PATCH", "/api/v1/tokens/{tok:owner:allowlisted}", map[string]any{"ip_allowlist": []string{}},
			want{"*": notFound, "owner": ok, "admin a.star": forbidden, "notokens": forbidden}},
		{"move a token to another user", "PATCH", "/api/v1/tokens/{tok:self}", map[string]any{"user_id": "{user:member2}"},
			want{"*": invalid, "dead": invalid}},

		{"regenerate own token", "POST", "/api/v1/tokens/{tok:self}/regenerate", nil,
			want{"*": ok, "notokens m.tokens a.tokens fed": forbidden}},
		{"regenerate a member's token", "POST", "/api/v1/tokens/{tok:member2}/regenerate", nil, tokenOf("member2")},
		{"regenerate an admin's token", "POST", "/api/v1/tokens/{tok:admin}/regenerate", nil, tokenOf("")},
		{"regenerate an owner's token", "POST", "/api/v1/tokens/{tok:owner}/regenerate", nil,
			want{"*": notFound, "owner": ok, "admin a.star": forbidden, "notokens": forbidden}},
		{"regenerate a service account's token", "POST", "/api/v1/tokens/{tok:svc}/regenerate", nil, tokenOf("svc")},

		{"revoke own token", "DELETE", "/api/v1/tokens/{tok:self}", nil, with(own, noContent)},
		{"revoke a member's token", "DELETE", "/api/v1/tokens/{tok:member2}", nil, with(tokenOf("member2"), noContent)},
		{"revoke an owner's token", "DELETE", "/api/v1/tokens/{tok:owner}", nil, with(tokenOf(""), noContent)},
		{"revoke a service account's token", "DELETE", "/api/v1/tokens/{tok:svc}", nil, with(tokenOf("svc"), noContent)},

		// Users.
		{"list users", "GET", "/api/v1/users", nil, adminOnly},
		{"show yourself", "GET", "/api/v1/users/{user:self}", nil, want{"*": ok}},
		{"show a member", "GET", "/api/v1/users/{user:member2}", nil, userOf("member2")},
		{"show an owner", "GET", "/api/v1/users/admin", nil, userOf("")},
		{"show a service account", "GET", "/api/v1/users/svc", nil, userOf("svc")},
		{"show a user that does not exist", "GET", "/api/v1/users/{uuid}", nil, want{"*": notFound}},
		// A password chosen with a token is a console sign-in that outlives
		// the token: an account is given one with a login session only.
		{"create a member with a password", "POST", "/api/v1/users", map[string]any{"username": "{name}", "password": matrixPassword},
			want{"*": forbidden, "owner admin": created}},
		{"create an admin with a password", "POST", "/api/v1/users", map[string]any{"username": "{name}", "password": matrixPassword, "role": "admin"},
			want{"*": forbidden, "owner admin": created}},
		{"create an owner with a password", "POST", "/api/v1/users", map[string]any{"username": "{name}", "password": matrixPassword, "role": "owner"},
			want{"*": forbidden, "owner": created}},
		{"create a service account", "POST", "/api/v1/users", map[string]any{"username": "{name}", "kind": "service"},
			with(adminOnly, created)},
		{"create an owner service account", "POST", "/api/v1/users", map[string]any{"username": "{name}", "kind": "service", "role": "owner"},
			want{"*": forbidden, "owner": created}},
		{"create a user with an id", "POST", "/api/v1/users", map[string]any{"username": "{name}", "password": matrixPassword, "id": "{uuid}"},
			want{"*": invalid, "dead": invalid}},
		{"raise your own role to owner", "PATCH", "/api/v1/users/{user:self}", map[string]any{"role": "owner"},
			want{"*": forbidden, "owner": ok}},
		{"unsuspend yourself", "PATCH", "/api/v1/users/{user:self}", map[string]any{"suspended": false},
			want{"*": forbidden, "admins a.adminorg": ok}},
		{"promote a member to admin", "PATCH", "/api/v1/users/{newuser:member}", map[string]any{"role": "admin"},
			want{"*": notFound, "admins a.adminorg": ok}},
		{"promote an admin to owner", "PATCH", "/api/v1/users/{newuser:admin}", map[string]any{"role": "owner"},
			want{"*": notFound, "owner": ok, "admin a.star a.adminorg": forbidden}},
		{"demote an owner", "PATCH", "/api/v1/users/{newuser:owner}", map[string]any{"role": "member"},
			want{"*": notFound, "owner": ok, "admin a.star a.adminorg": forbidden}},
		{"suspend a member", "PATCH", "/api/v1/users/{newuser:member}", map[string]any{"suspended": true},
			want{"*": notFound, "admins a.adminorg": ok}},
		{"suspend an owner", "PATCH", "/api/v1/users/{newuser:owner}", map[string]any{"suspended": true},
			want{"*": notFound, "owner": ok, "admin a.star a.adminorg": forbidden}},
		// Another's password is set with a session only: a token that sets
		// one signs in as that person for good.
		{"set a member's password", "PATCH", "/api/v1/users/{newuser:member}", map[string]any{"password": "another-password-2"},
			want{"*": notFound, "owner admin": ok, "a.star a.adminorg": forbidden}},
		{"set an owner's password", "PATCH", "/api/v1/users/{newuser:owner}", map[string]any{"password": "another-password-2"},
			want{"*": notFound, "owner": ok, "admin a.star a.adminorg": forbidden}},
		{"set an owner's email", "PATCH", "/api/v1/users/{newuser:owner}", map[string]any{"email": "evil@example.com"},
			want{"*": notFound, "owner": ok, "admin a.star a.adminorg": forbidden}},
		// Even one's own: a leaked * token must not become a password that
		// locks its owner out and signs the thief in for good.
		{"set your own password", "PATCH", "/api/v1/users/{user:self}", map[string]any{"password": "{pw}"},
			want{"*": forbidden, "owner admin member member2": ok}},
		{"set your own email", "PATCH", "/api/v1/users/{user:self}", map[string]any{"email": "me@example.com"},
			want{"*": forbidden, "owner admin member member2 a.star a.adminorg": ok}},
		{"change your own kind", "PATCH", "/api/v1/users/{user:self}", map[string]any{"kind": "service"},
			want{"*": invalid, "dead": invalid}},
		{"delete a member", "DELETE", "/api/v1/users/{newuser:member}", nil, with(adminOnly, noContent)},
		{"delete an owner", "DELETE", "/api/v1/users/{newuser:owner}", nil, want{"*": forbidden, "owner": noContent}},
		{"delete yourself", "DELETE", "/api/v1/users/{user:self}", nil, want{"*": forbidden}},

		// Sessions.
		{"list own sessions", "GET", "/api/v1/sessions", nil, own},
		{"list a member's sessions", "GET", "/api/v1/sessions?user_id={user:member2}", nil,
			want{"*": forbidden, "admins member2": ok}},
		{"list an owner's sessions", "GET", "/api/v1/sessions?user_id={user:owner}", nil, want{"*": forbidden, "admins": ok}},
		{"end own session", "DELETE", "/api/v1/sessions/{sess:self}", nil,
			want{"*": noContent, "notokens": forbidden, "svc fed": notFound}},
		{"end a member's session", "DELETE", "/api/v1/sessions/{sess:member2}", nil, with(tokenOf("member2"), noContent)},
		{"end an owner's session", "DELETE", "/api/v1/sessions/{sess:owner}", nil,
			want{"*": notFound, "owner": noContent, "admin a.star": forbidden, "notokens": forbidden}},
		{"log out everywhere else", "DELETE", "/api/v1/sessions", nil, with(own, noContent)},

		// Policy, audit, jobs.
		{"read the policy", "GET", "/api/v1/policy", nil, want{"*": ok}},
		{"set the policy", "PUT", "/api/v1/policy", map[string]any{"creation": "everyone"}, adminOnly},
		{"preview a policy", "POST", "/api/v1/policy/preview", map[string]any{"max_lifetime": "30d"}, adminOnly},
		{"read the audit log", "GET", "/api/v1/audit", nil, adminOnly},
		{"export the audit log", "GET", "/api/v1/audit/export", nil, adminOnly},
		{"run a job", "POST", "/api/v1/jobs/reminders/run", nil, adminOnly},

		// Federation policies (admins; granting needs the scopes).
		{"list federation policies", "GET", "/api/v1/federation/policies", nil, adminOnly},
		{"show a federation policy", "GET", "/api/v1/federation/policies/{fedpolicy}", nil, adminOnly},
		{"create a federation policy", "POST", "/api/v1/federation/policies", map[string]any{
			"name": "{name}", "issuer": "https://token.actions.githubusercontent.com", "audience": "latchkey",
			"conditions": map[string]string{"repository": "acme/other"}, "service_account": "deployer", "scopes": []string{"repo"},
		}, want{"*": forbidden, "admins": created}},
		{"describe a federation policy", "PATCH", "/api/v1/federation/policies/{fedpolicy}", map[string]any{"description": "matrix"}, adminOnly},
		{"delete a federation policy", "DELETE", "/api/v1/federation/policies/{newfedpolicy}", nil, with(adminOnly, noContent)},

		// The surfaces outside /api/v1.
		{"forward-auth to a git clone (needs repo)", "GET", "/auth/verify/acme/web.git/info/refs", nil,
			want{"*": ok, "m.none m.tokens m.introspect a.adminorg a.tokens": forbidden}},
		{"introspect a member's token", "POST", "/oauth2/introspect", url.Values{"token": {"{secret:member2}"}},
			want{"*": forbidden, "admins member member2 m.introspect": ok}},
		{"exchange own credential for admin:org", "POST", "/oauth2/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"{mysecret}"},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"admin:org"}},
			want{"*": badRequest, "a.adminorg a.star": ok, "dead": badRequest}},
		{"exchange own credential for repo", "POST", "/oauth2/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"{mysecret}"},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"repo"}},
			want{"*": badRequest, "m.repo a.star svc fed": ok, "dead": badRequest}},
	}
}

// matrixWorld is one server with a user of every kind and a credential of
// every actor.
type matrixWorld struct {
	s        *servertest.Server
	owner    string            // the first owner's session, which sets up targets
	users    map[string]string // key → user id
	names    map[string]string // key → user name
	actors   map[string]*matrixActor
	fedID    string
	seq      int
	deadAddr int
}

func newMatrixWorld(t *testing.T) *matrixWorld {
	t.Helper()
	s := servertest.Start(t, fedSecretArg)
	w := &matrixWorld{s: s, owner: s.AdminSession(t), users: map[string]string{}, names: map[string]string{}, actors: map[string]*matrixActor{}}
	var me struct {
		User struct{ ID string }
	}
	s.JSON(t, "GET", "/api/v1/me", w.owner, nil, http.StatusOK, &me)
	w.users["owner"], w.names["owner"] = me.User.ID, servertest.AdminUser
	for _, u := range []struct{ key, role, kind string }{
		{"admin", "admin", "person"}, {"member", "member", "person"}, {"member2", "member", "person"},
		{"mpat", "member", "person"}, {"apat", "admin", "person"}, {"svc", "member", "service"},
		{"deployer", "admin", "service"}, {"sus", "member", "person"},
	} {
		pw := matrixPassword
		if u.kind == "service" {
			pw = ""
		}
		name := u.key
		if name == "admin" {
			name = "admin1" // "admin" is the first owner's
		}
		w.users[u.key], w.names[u.key] = s.CreateUser(t, w.owner, name, pw, u.role, u.kind), name
	}
	add := func(name, user, secret string) { w.actors[name] = &matrixActor{name: name, user: user, secret: secret} }
	add("owner", "owner", w.owner)
	for _, k := range []string{"admin", "member", "member2"} {
		add(k, k, s.Login(t, w.names[k], matrixPassword))
	}
	pat := func(user string, scopes ...string) string {
		return s.CreateToken(t, w.owner, map[string]any{"name": w.name(), "user_id": w.users[user], "scopes": scopes}).Secret
	}
	add("m.none", "mpat", pat("mpat"))
	add("m.repo", "mpat", pat("mpat", "repo"))
	add("m.tokens", "mpat", pat("mpat", "tokens"))
	add("m.introspect", "mpat", pat("mpat", "introspect"))
	add("a.adminorg", "apat", pat("apat", "admin:org"))
	add("a.tokens", "apat", pat("apat", "tokens"))
	add("a.star", "apat", pat("apat", "*"))
	add("svc", "svc", pat("svc", "repo", "tokens"))
	add("fed", "deployer", w.fedToken(t))

	// Credentials that must be refused everywhere.
	sus := pat("sus", "repo", "tokens")
	s.JSON(t, "GET", "/api/v1/me", sus, nil, http.StatusOK, nil) // now cached
	s.JSON(t, "PATCH", "/api/v1/users/sus", w.owner, map[string]any{"suspended": true}, http.StatusOK, nil)
	revoked := s.CreateToken(t, w.owner, map[string]any{"name": w.name(), "user_id": w.users["mpat"], "scopes": []string{"tokens"}})
	s.JSON(t, "GET", "/api/v1/me", revoked.Secret, nil, http.StatusOK, nil)
	s.JSON(t, "DELETE", "/api/v1/tokens/"+revoked.ID(), w.owner, nil, http.StatusNoContent, nil)
	w.actors["suspended"] = &matrixActor{name: "suspended", user: "sus", secret: sus, dead: true}
	w.actors["revoked"] = &matrixActor{name: "revoked", user: "mpat", secret: revoked.Secret, dead: true}
	w.actors["expired"] = &matrixActor{name: "expired", user: "mpat", secret: w.expiredToken(t, "mpat"), dead: true}
	w.actors["anonymous"] = &matrixActor{name: "anonymous", dead: true}
	for _, n := range matrixActors {
		if w.actors[n] == nil {
			t.Fatalf("actor %q has no credential", n)
		}
	}
	return w
}

// fedToken exchanges a GitHub-style OIDC token for a fed token of the
// deployer service account (an admin), with scopes repo and tokens.
func (w *matrixWorld) fedToken(t *testing.T) string {
	t.Helper()
	is := oidctest.Start(t)
	var p map[string]any
	w.s.JSON(t, "POST", "/api/v1/federation/policies", w.owner, map[string]any{
		"name": "matrix", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/web"},
		"service_account": "deployer", "scopes": []string{"repo", "tokens"}, "max_lifetime": "10m",
	}, http.StatusCreated, &p)
	w.fedID, _ = p["id"].(string)
	st, out := exchange(t, w.s, is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil)
	secret, _ := out["access_token"].(string)
	if st != http.StatusOK || !strings.HasPrefix(secret, "lk_fed_") {
		t.Fatalf("federated exchange: %d %v", st, out)
	}
	return secret
}

// expiredToken plants a token of user that expired an hour ago: the API
// only issues tokens that expire in the future.
func (w *matrixWorld) expiredToken(t *testing.T, user string) string {
	t.Helper()
	secret, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	digest := token.Hash(secret)
	now := time.Now().UTC()
	exp := now.Add(-time.Hour)
	tk := &store.Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: w.users[user], Kind: store.TokenPersonal, Name: w.name(),
		Scopes: []string{"tokens"}, Digest: digest[:], Hint: token.Hint(secret), CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now, ExpiresAt: &exp}
	if err := w.s.App.Store.CreateToken(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	return secret
}

func (w *matrixWorld) name() string { w.seq++; return fmt.Sprintf("matrix-%d", w.seq) }

var placeholder = regexp.MustCompile(`\{(tok|secret|mysecret|user|sess|newuser|fedpolicy|newfedpolicy|name|uuid|pw)(?::([a-z0-9]+))?(?::([a-z]+))?\}`)

// expand replaces the placeholders of s, creating what they name:
//
//	{tok:K}         a fresh token (scope repo) of user K, made by the owner
//	{tok:K:allowlisted}  the same with an IP allowlist of 127.0.0.0/8
//	{user:K}        the id of user K
//	{sess:K}        a fresh session of user K (a random id for a service account)
//	{newuser:R}     a fresh person with role R
//	{fedpolicy}     the federation policy of the fed token
//	{newfedpolicy}  a fresh federation policy
//	{name} {uuid}   a fresh name, a random id
//	{pw}            the actor's own password
//
// K "self" is the actor's own user; K "admin" and "owner" are the users of
// the admin and owner actors.
func (w *matrixWorld) expand(t *testing.T, a *matrixActor, s string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		p := placeholder.FindStringSubmatch(m)
		key := p[2]
		if key == "self" {
			key = a.user
			if a.dead { // a dead credential's "own" things are a member's
				key = "member"
			}
		}
		switch p[1] {
		case "tok":
			body := map[string]any{"name": w.name(), "user_id": w.users[key], "scopes": []string{"repo"}}
			if p[3] == "allowlisted" {
				body["ip_allowlist"] = []string{"127.0.0.0/8"}
			}
			return w.s.CreateToken(t, w.owner, body).ID()
		case "secret":
			return w.s.CreateToken(t, w.owner, map[string]any{"name": w.name(), "user_id": w.users[key], "scopes": []string{"repo"}}).Secret
		case "mysecret":
			return a.secret
		case "user":
			return w.users[key]
		case "sess":
			if w.names[key] == "svc" || w.names[key] == "deployer" {
				return uuid.NewString()
			}
			secret := w.s.Login(t, w.names[key], w.password(key))
			var me struct {
				Session struct{ ID string }
			}
			w.s.JSON(t, "GET", "/api/v1/me", secret, nil, http.StatusOK, &me)
			return me.Session.ID
		case "newuser":
			return w.s.CreateUser(t, w.owner, w.name(), matrixPassword, key, "person")
		case "fedpolicy":
			return w.fedID
		case "newfedpolicy":
			var out map[string]any
			w.s.JSON(t, "POST", "/api/v1/federation/policies", w.owner, map[string]any{
				"name": w.name(), "issuer": "https://gitlab.example.com", "audience": "latchkey",
				"conditions": map[string]string{"project_path": "acme/web"}, "service_account": "deployer", "scopes": []string{"repo"},
			}, http.StatusCreated, &out)
			id, _ := out["id"].(string)
			return id
		case "name":
			return w.name()
		case "uuid":
			return uuid.NewString()
		case "pw":
			return w.password(a.user)
		}
		t.Fatalf("unknown placeholder %s", m)
		return ""
	})
}

func (w *matrixWorld) password(key string) string {
	if key == "owner" {
		return servertest.AdminPassword
	}
	return matrixPassword
}

func (w *matrixWorld) expandBody(t *testing.T, a *matrixActor, body any) []byte {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case url.Values:
		form := url.Values{}
		for k, vs := range b {
			for _, v := range vs {
				form.Add(k, w.expand(t, a, v))
			}
		}
		return []byte(form.Encode())
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(w.expand(t, a, string(b)))
}

// send makes one request as a. Refused credentials come from a fresh
// loopback address each time, so that the failure limiter (20 per address)
// answers none of them 429.
func (w *matrixWorld) send(t *testing.T, a *matrixActor, method, path string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	client := w.s.Client
	if a.dead && a.secret != "" {
		w.deadAddr++
		ip := net.IPv4(127, 77, byte(w.deadAddr/250), byte(w.deadAddr%250+1))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
		client = &http.Client{Timeout: 30 * time.Second, Transport: w.s.ValidatingTransport(&http.Transport{DialContext: d.DialContext, DisableKeepAlives: true})}
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if strings.HasPrefix(path, "/oauth2/") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if a.secret != "" {
		req.Header.Set("Authorization", "Bearer "+a.secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// The rules below depend on a sequence of changes, which one matrix cell
// cannot show.

func TestAuthzMatrixCursorFromAnotherListingWidensNothing(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ann", matrixPassword, "member", "person")
	s.CreateUser(t, owner, "bob", matrixPassword, "member", "person")
	ann, bob := s.Login(t, "ann", matrixPassword), s.Login(t, "bob", matrixPassword)
	for i := range 3 {
		s.CreateToken(t, ann, map[string]any{"name": fmt.Sprintf("ann-%d", i)})
		s.CreateToken(t, bob, map[string]any{"name": fmt.Sprintf("bob-%d", i)})
	}
	var page struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	s.JSON(t, "GET", "/api/v1/tokens?limit=1", bob, nil, http.StatusOK, &page)
	bobCursor := page.NextCursor
	s.JSON(t, "GET", "/api/v1/tokens?all=true&limit=1", owner, nil, http.StatusOK, &page)
	allCursor := page.NextCursor
	for _, path := range []string{
		"/api/v1/tokens?cursor=" + bobCursor,
		"/api/v1/tokens?cursor=" + allCursor,
		"/api/v1/tokens?limit=500&cursor=" + bobCursor,
	} {
		s.JSON(t, "GET", path, ann, nil, http.StatusOK, &page)
		for _, it := range page.Items {
			if !strings.HasPrefix(it["name"].(string), "ann-") {
				t.Errorf("ann's GET %s lists %v, not hers", path, it["name"])
			}
		}
	}
	if st, body, _ := s.Do(t, "GET", "/api/v1/tokens?all=true&cursor="+allCursor, ann, nil); st != http.StatusForbidden {
		t.Errorf("ann's ?all=true with the owner's cursor: %d %s", st, body)
	}
}

func TestAuthzMatrixRoleChangesReachEveryCredentialAtOnce(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ada", matrixPassword, "admin", "person")
	session := s.Login(t, "ada", matrixPassword)
	star := s.CreateToken(t, session, map[string]any{"name": "everything", "scopes": []string{"*"}}).Secret
	for _, c := range []string{session, star} {
		s.JSON(t, "GET", "/api/v1/users", c, nil, http.StatusOK, nil)
	}
	s.JSON(t, "PATCH", "/api/v1/users/ada", owner, map[string]any{"role": "member"}, http.StatusOK, nil)
	for name, c := range map[string]string{"session": session, "* token": star} {
		for _, call := range []struct{ method, path string }{
			{"GET", "/api/v1/users"}, {"GET", "/api/v1/audit"}, {"GET", "/api/v1/tokens?all=true"},
			{"PUT", "/api/v1/policy"}, {"GET", "/api/v1/users/admin"},
		} {
			var body any
			if call.method == "PUT" {
				body = map[string]any{"creation": "admins"}
			}
			if st, out, _ := s.Do(t, call.method, call.path, c, body); st != http.StatusForbidden && st != http.StatusNotFound {
				t.Errorf("demoted admin's %s: %s %s = %d %s", name, call.method, call.path, st, out)
			}
		}
		if st, out, _ := s.Do(t, "POST", "/api/v1/tokens", c, map[string]any{"name": "again-" + name, "scopes": []string{"*"}}); st != http.StatusForbidden {
			t.Errorf("demoted admin's %s mints a * token: %d %s", name, st, out)
		}
		if st, out, _ := s.Do(t, "PATCH", "/api/v1/users/ada", c, map[string]any{"role": "admin"}); st != http.StatusForbidden {
			t.Errorf("demoted admin's %s restores its role: %d %s", name, st, out)
		}
	}
	var me struct{ Scopes []string }
	s.JSON(t, "GET", "/api/v1/me", star, nil, http.StatusOK, &me)
	if slices.Contains(me.Scopes, "*") || slices.Contains(me.Scopes, "admin:org") {
		t.Errorf("the demoted admin's * token still holds %v", me.Scopes)
	}
}

func TestAuthzMatrixTheLastOwnerStays(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ada", matrixPassword, "admin", "person")
	admin := s.Login(t, "ada", matrixPassword)
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"PATCH", "/api/v1/users/admin", map[string]any{"role": "admin"}, http.StatusConflict},
		{"PATCH", "/api/v1/users/admin", map[string]any{"role": "member"}, http.StatusConflict},
		{"PATCH", "/api/v1/users/admin", map[string]any{"suspended": true}, http.StatusForbidden},
		{"DELETE", "/api/v1/users/admin", nil, http.StatusForbidden},
	} {
		if st, out, _ := s.Do(t, c.method, c.path, owner, c.body); st != c.want {
			t.Errorf("the only owner: %s %s %v = %d, want %d: %s", c.method, c.path, c.body, st, c.want, out)
		}
	}
	for _, c := range []struct {
		method string
		body   any
	}{{"PATCH", map[string]any{"role": "member"}}, {"PATCH", map[string]any{"suspended": true}}, {"DELETE", nil}} {
		if st, out, _ := s.Do(t, c.method, "/api/v1/users/admin", admin, c.body); st != http.StatusForbidden {
			t.Errorf("an admin: %s the owner %v = %d, want 403: %s", c.method, c.body, st, out)
		}
	}
	// A second owner may demote the first; then it is the last one.
	s.CreateUser(t, owner, "olga", matrixPassword, "owner", "person")
	olga := s.Login(t, "olga", matrixPassword)
	s.JSON(t, "PATCH", "/api/v1/users/admin", olga, map[string]any{"role": "admin"}, http.StatusOK, nil)
	if st, out, _ := s.Do(t, "PATCH", "/api/v1/users/olga", olga, map[string]any{"role": "member"}); st != http.StatusConflict {
		t.Errorf("the last owner demotes herself: %d %s", st, out)
	}
	if st, out, _ := s.Do(t, "PATCH", "/api/v1/users/admin", owner, map[string]any{"role": "owner"}); st != http.StatusForbidden {
		t.Errorf("the demoted owner makes herself owner again: %d %s", st, out)
	}
}

func TestAuthzMatrixOnlyAdminsCreateOrWidenUnderTheAdminsPolicy(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ann", matrixPassword, "member", "person")
	s.CreateUser(t, owner, "ada", matrixPassword, "admin", "person")
	ann := s.Login(t, "ann", matrixPassword)
	adaTokens := s.CreateToken(t, s.Login(t, "ada", matrixPassword), map[string]any{"name": "tokens-only", "scopes": []string{"tokens"}}).Secret
	narrow := s.CreateToken(t, ann, map[string]any{"name": "narrow", "scopes": []string{"repo:read=acme/web"}, "ip_allowlist": []string{"10.0.0.0/8"}})
	other := s.CreateToken(t, ann, map[string]any{"name": "other", "scopes": []string{"repo"}})
	s.JSON(t, "PUT", "/api/v1/policy", owner, map[string]any{"creation": "admins"}, http.StatusOK, nil)
	id := "/api/v1/tokens/" + narrow.ID()
	for _, c := range []struct {
		name, bearer, method, path string
		body                       any
		want                       int
	}{
		{"member creates", ann, "POST", "/api/v1/tokens", map[string]any{"name": "new"}, http.StatusForbidden},
		{"admin's tokens-only PAT creates", adaTokens, "POST", "/api/v1/tokens", map[string]any{"name": "new"}, http.StatusForbidden},
		{"member regenerates", ann, "POST", id + "/regenerate", nil, http.StatusForbidden},
		{"member widens a pattern", ann, "PATCH", id, map[string]any{"scopes": []string{"repo:read=acme/*"}}, http.StatusForbidden},
		{"member widens through the hierarchy", ann, "PATCH", id, map[string]any{"scopes": []string{"repo=acme/web"}}, http.StatusForbidden},
		{"member adds a scope", ann, "PATCH", id, map[string]any{"scopes": []string{"repo:read=acme/web", "job"}}, http.StatusForbidden},
		{"member loosens the allowlist", ann, "PATCH", id, map[string]any{"ip_allowlist": []string{"0.0.0.0/0"}}, http.StatusForbidden},
		{"member drops the allowlist", ann, "PATCH", id, map[string]any{"ip_allowlist": []string{}}, http.StatusForbidden},
		{"member narrows the allowlist", ann, "PATCH", id, map[string]any{"ip_allowlist": []string{"10.1.0.0/16"}}, http.StatusOK},
		{"member narrows the scopes", ann, "PATCH", "/api/v1/tokens/" + other.ID(), map[string]any{"scopes": []string{"repo:read"}}, http.StatusOK},
		{"member describes", ann, "PATCH", id, map[string]any{"description": "still mine"}, http.StatusOK},
		{"owner creates for the member", owner, "POST", "/api/v1/tokens", map[string]any{"name": "given", "user_id": "ann"}, http.StatusCreated},
		{"member revokes", ann, "DELETE", id, nil, http.StatusNoContent},
	} {
		if st, out, _ := s.Do(t, c.method, c.path, c.bearer, c.body); st != c.want {
			t.Errorf("%s: %s %s = %d, want %d: %s", c.name, c.method, c.path, st, c.want, out)
		}
	}
}

func TestAuthzMatrixOthersThingsLookAbsent(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ann", matrixPassword, "member", "person")
	s.CreateUser(t, owner, "bob", matrixPassword, "member", "person")
	ann, bob := s.Login(t, "ann", matrixPassword), s.Login(t, "bob", matrixPassword)
	bobs := s.CreateToken(t, bob, map[string]any{"name": "bobs"}).ID()
	var me struct {
		User    struct{ ID string }
		Session struct{ ID string }
	}
	s.JSON(t, "GET", "/api/v1/me", bob, nil, http.StatusOK, &me)
	ghost := uuid.NewString()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/tokens/%s", ""}, {"PATCH", "/api/v1/tokens/%s", `{"description":"x"}`},
		{"POST", "/api/v1/tokens/%s/regenerate", ""}, {"DELETE", "/api/v1/tokens/%s", ""},
		{"GET", "/api/v1/tokens/%s/usage", ""}, {"DELETE", "/api/v1/sessions/%s", ""},
		{"GET", "/api/v1/users/%s", ""}, {"PATCH", "/api/v1/users/%s", `{"email":"x@example.com"}`},
	} {
		real := bobs
		if strings.Contains(c.path, "sessions") {
			real = me.Session.ID
		} else if strings.Contains(c.path, "users") {
			real = me.User.ID
		}
		var body any
		if c.body != "" {
			body = c.body
		}
		st1, out1, _ := s.Do(t, c.method, fmt.Sprintf(c.path, real), ann, body)
		st2, out2, _ := s.Do(t, c.method, fmt.Sprintf(c.path, ghost), ann, body)
		d1 := strings.ReplaceAll(string(out1), real, "ID")
		d2 := strings.ReplaceAll(string(out2), ghost, "ID")
		if st1 != http.StatusNotFound || st2 != http.StatusNotFound || d1 != d2 {
			t.Errorf("%s %s: bob's answers %d %s\n\ta missing one %d %s", c.method, c.path, st1, d1, st2, d2)
		}
	}
}

func TestAuthzMatrixAFedTokenMintsNoLastingSecret(t *testing.T) {
	s := servertest.Start(t, fedSecretArg)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ann", matrixPassword, "member", "person")
	s.CreateUser(t, owner, "deployer", "", "admin", "service")
	is := oidctest.Start(t)
	s.JSON(t, "POST", "/api/v1/federation/policies", owner, map[string]any{
		"name": "ops", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/ops"},
		"service_account": "deployer", "scopes": []string{"admin:org", "tokens"}, "max_lifetime": "10m",
	}, http.StatusCreated, nil)
	st, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/ops", "refs/heads/main", "", "latchkey")), nil)
	fed, _ := out["access_token"].(string)
	if st != http.StatusOK || fed == "" {
		t.Fatalf("exchange: %d %v", st, out)
	}
	// Administration a CI run may do.
	s.JSON(t, "GET", "/api/v1/users", fed, nil, http.StatusOK, nil)
	s.JSON(t, "PATCH", "/api/v1/users/ann", fed, map[string]any{"suspended": true}, http.StatusOK, nil)
	s.JSON(t, "POST", "/api/v1/users", fed, map[string]any{"username": "robot", "kind": "service"}, http.StatusCreated, nil)
	// Lasting tokens a CI run could otherwise widen: another two of its
	// service account's (one allowlisted), and a person's.
	s.CreateUser(t, owner, "ben", matrixPassword, "admin", "person")
	adm := s.CreateToken(t, owner, map[string]any{"name": "adm", "user_id": "deployer", "scopes": []string{"tokens"}, "expires_in": "168h"}).ID()
	fenced := s.CreateToken(t, owner, map[string]any{"name": "fenced", "user_id": "deployer", "scopes": []string{"admin:org"}, "ip_allowlist": []string{"10.0.0.0/8"}}).ID()
	bens := s.CreateToken(t, owner, map[string]any{"name": "bens", "user_id": "ben", "scopes": []string{"tokens"}}).ID()
	bensWide := s.CreateToken(t, owner, map[string]any{"name": "bens-wide", "user_id": "ben", "scopes": []string{"tokens", "admin:org"}}).ID()
	// Secrets that would outlive the run (a token, a password to log in
	// with), and wider or longer-lived tokens.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/tokens", map[string]any{"name": "lasting", "user_id": "ann"}},
		{"PATCH", "/api/v1/users/ann", map[string]any{"password": "fed-chosen-password"}},
		{"POST", "/api/v1/users", map[string]any{"username": "mallory", "password": "fed-chosen-password", "role": "admin"}},
		{"PATCH", "/api/v1/tokens/" + adm, map[string]any{"scopes": []string{"tokens", "admin:org"}}},
		{"PATCH", "/api/v1/tokens/" + adm, map[string]any{"scopes": []string{"admin:org"}}},
		{"PATCH", "/api/v1/tokens/" + fenced, map[string]any{"ip_allowlist": []string{}}},
		{"PATCH", "/api/v1/tokens/" + fenced, map[string]any{"ip_allowlist": []string{"0.0.0.0/0"}}},
		{"PATCH", "/api/v1/tokens/" + bens, map[string]any{"scopes": []string{"tokens", "admin:org"}}},
		{"POST", "/api/v1/tokens/" + adm + "/regenerate", map[string]any{"expires_in": "4320h"}},
	} {
		if st, out, _ := s.Do(t, c.method, c.path, fed, c.body); st != http.StatusForbidden {
			t.Errorf("fed token: %s %s %v = %d, want 403: %s", c.method, c.path, c.body, st, out)
		}
	}
	var tk struct {
		Scopes      []string `json:"scopes"`
		IPAllowlist []string `json:"ip_allowlist"`
		ExpiresAt   string   `json:"expires_at"`
	}
	s.JSON(t, "GET", "/api/v1/tokens/"+adm, owner, nil, http.StatusOK, &tk)
	if !slices.Equal(tk.Scopes, []string{"tokens"}) {
		t.Errorf("after the fed token's refused writes, the adm token holds %v", tk.Scopes)
	}
	// Narrowing, describing and revoking take nothing lasting: a run may
	// clean up after itself.
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"PATCH", "/api/v1/tokens/" + bensWide, map[string]any{"scopes": []string{"tokens"}}, http.StatusOK},
		{"PATCH", "/api/v1/tokens/" + fenced, map[string]any{"ip_allowlist": []string{"10.1.0.0/16"}}, http.StatusOK},
		{"PATCH", "/api/v1/tokens/" + adm, map[string]any{"description": "seen by CI"}, http.StatusOK},
		{"DELETE", "/api/v1/tokens/" + adm, nil, http.StatusNoContent},
	} {
		if st, out, _ := s.Do(t, c.method, c.path, fed, c.body); st != c.want {
			t.Errorf("fed token: %s %s %v = %d, want %d: %s", c.method, c.path, c.body, st, c.want, out)
		}
	}
}

func TestAuthzMatrixRefusedInputIsNotEchoed(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	secret := s.CreateToken(t, owner, map[string]any{"name": "leaked"}).Secret
	long := strings.Repeat("hunter2-", 40)
	for _, c := range []struct {
		method, path, bearer string
		body                 any
		echo                 string
	}{
		{"POST", "/api/v1/auth/login", "", map[string]any{"username": "admin", "password": "almost-right-password", "otp": 1}, "almost-right-password"},
		{"PATCH", "/api/v1/users/admin", owner, map[string]any{"password": long}, long},
		{"POST", "/api/v1/users", owner, map[string]any{"username": "x", "password": "chosen-password-1", "id": "x"}, "chosen-password-1"},
		{"POST", "/api/v1/leaks", "", []map[string]any{{"token": secret, "type": "latchkey", "url": "https://example.com", "extra": true}}, secret},
	} {
		st, out, _ := s.Do(t, c.method, c.path, c.bearer, c.body)
		if st < 400 || st >= 500 || strings.Contains(string(out), c.echo) {
			t.Errorf("%s %s: %d echoes the input: %s", c.method, c.path, st, out)
		}
	}
}

// fedAdmin starts a server whose fed token acts as an owner service
// account with admin:org, so that a refusal can only come from the token
// being federated. It returns the server, the first owner's session and
// the fed token.
func fedAdmin(t *testing.T) (*servertest.Server, string, string) {
	t.Helper()
	s := servertest.Start(t, fedSecretArg)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "deployer", "", "owner", "service")
	is := oidctest.Start(t)
	s.JSON(t, "POST", "/api/v1/federation/policies", owner, map[string]any{
		"name": "ops", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/ops"},
		"service_account": "deployer", "scopes": []string{"admin:org"}, "max_lifetime": "10m",
	}, http.StatusCreated, nil)
	st, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/ops", "refs/heads/main", "", "latchkey")), nil)
	fed, _ := out["access_token"].(string)
	if st != http.StatusOK || fed == "" {
		t.Fatalf("exchange: %d %v", st, out)
	}
	return s, owner, fed
}

// A fed token lives one CI run. Whatever it loosens in the token policy
// (a longer maximum or default lifetime, tokens without expiry, everyone
// creating, unused tokens kept longer) outlives the run; tightening it
// does not. Each field is tried both ways, from a known policy.
func TestAuthzMatrixAFedTokenLoosensNoPolicy(t *testing.T) {
	s, owner, fed := fedAdmin(t)
	base := map[string]any{"default_lifetime": "7d", "max_lifetime": "30d", "allow_no_expiry": false, "creation": "admins", "revoke_unused_for": "30d"}
	for _, c := range []struct {
		name   string
		start  map[string]any // changes to base set by the owner first
		change map[string]any
		want   int
	}{
		{"raise max_lifetime", nil, map[string]any{"max_lifetime": "90d"}, http.StatusForbidden},
		{"remove max_lifetime", nil, map[string]any{"max_lifetime": ""}, http.StatusForbidden},
		{"lower max_lifetime", nil, map[string]any{"max_lifetime": "14d"}, http.StatusOK},
		{"lower max_lifetime below the default", nil, map[string]any{"max_lifetime": "3d"}, http.StatusOK},
		{"set a max_lifetime where none was", map[string]any{"max_lifetime": ""}, map[string]any{"max_lifetime": "365d"}, http.StatusOK},
		{"raise default_lifetime", nil, map[string]any{"default_lifetime": "14d"}, http.StatusForbidden},
		{"remove default_lifetime (180d, capped at 30d)", nil, map[string]any{"default_lifetime": ""}, http.StatusForbidden},
		{"remove default_lifetime to no expiry", map[string]any{"max_lifetime": "", "allow_no_expiry": true}, map[string]any{"default_lifetime": ""}, http.StatusForbidden},
		{"lower default_lifetime", nil, map[string]any{"default_lifetime": "1d"}, http.StatusOK},
		{"set a default_lifetime where none was", map[string]any{"default_lifetime": ""}, map[string]any{"default_lifetime": "1d"}, http.StatusOK},
		{"allow no expiry", nil, map[string]any{"allow_no_expiry": true}, http.StatusForbidden},
		{"forbid no expiry", map[string]any{"allow_no_expiry": true}, map[string]any{"allow_no_expiry": false}, http.StatusOK},
		{"let everyone create", nil, map[string]any{"creation": "everyone"}, http.StatusForbidden},
		{"let only admins create", map[string]any{"creation": "everyone"}, map[string]any{"creation": "admins"}, http.StatusOK},
		{"keep unused tokens longer", nil, map[string]any{"revoke_unused_for": "60d"}, http.StatusForbidden},
		{"keep unused tokens for ever", nil, map[string]any{"revoke_unused_for": ""}, http.StatusForbidden},
		{"revoke unused tokens sooner", nil, map[string]any{"revoke_unused_for": "7d"}, http.StatusOK},
		{"start revoking unused tokens", map[string]any{"revoke_unused_for": ""}, map[string]any{"revoke_unused_for": "90d"}, http.StatusOK},
		{"change nothing", nil, base, http.StatusOK},
		{"tighten one field and loosen another", nil, map[string]any{"max_lifetime": "14d", "creation": "everyone"}, http.StatusForbidden},
	} {
		start := map[string]any{}
		for k, v := range base {
			start[k] = v
		}
		for k, v := range c.start {
			start[k] = v
		}
		var before, after map[string]any
		s.JSON(t, "PUT", "/api/v1/policy", owner, start, http.StatusOK, &before)
		st, out, _ := s.Do(t, "PUT", "/api/v1/policy", fed, c.change)
		if st != c.want {
			t.Errorf("fed token: %s %v = %d, want %d: %s", c.name, c.change, st, c.want, out)
			continue
		}
		s.JSON(t, "GET", "/api/v1/policy", owner, nil, http.StatusOK, &after)
		if st == http.StatusForbidden {
			if !strings.Contains(string(out), "federation") || !strings.Contains(string(out), "session") {
				t.Errorf("%s: the 403 does not say why and what to do instead: %s", c.name, out)
			}
			delete(before, "updated_at")
			delete(after, "updated_at")
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("%s: refused, yet the policy changed from %v to %v", c.name, before, after)
			}
		}
	}
	// A session of the same organisation loosens it, as before.
	s.JSON(t, "PUT", "/api/v1/policy", owner, map[string]any{"max_lifetime": "", "allow_no_expiry": true, "creation": "everyone"}, http.StatusOK, nil)
}

// Raising a role or lifting a suspension gives a person lasting power a CI
// run should not hand out; lowering or suspending takes it away.
func TestAuthzMatrixAFedTokenPromotesAndRestoresNobody(t *testing.T) {
	s, owner, fed := fedAdmin(t)
	for _, c := range []struct {
		name, role string
		suspended  bool
		change     map[string]any
		want       int
	}{
		{"promote a member to admin", "member", false, map[string]any{"role": "admin"}, http.StatusForbidden},
		{"promote a member to owner", "member", false, map[string]any{"role": "owner"}, http.StatusForbidden},
		{"promote an admin to owner", "admin", false, map[string]any{"role": "owner"}, http.StatusForbidden},
		{"demote an owner to admin", "owner", false, map[string]any{"role": "admin"}, http.StatusOK},
		{"demote an admin to member", "admin", false, map[string]any{"role": "member"}, http.StatusOK},
		{"keep a role", "admin", false, map[string]any{"role": "admin"}, http.StatusOK},
		{"suspend a member", "member", false, map[string]any{"suspended": true}, http.StatusOK},
		{"suspend an owner", "owner", false, map[string]any{"suspended": true}, http.StatusOK},
		{"unsuspend a member", "member", true, map[string]any{"suspended": false}, http.StatusForbidden},
		{"unsuspend an owner", "owner", true, map[string]any{"suspended": false}, http.StatusForbidden},
		{"demote and unsuspend", "admin", true, map[string]any{"role": "member", "suspended": false}, http.StatusForbidden},
		{"keep a suspension", "member", true, map[string]any{"suspended": true}, http.StatusOK},
	} {
		name := strings.ReplaceAll(c.name, " ", "-")
		s.CreateUser(t, owner, name, matrixPassword, c.role, "person")
		if c.suspended {
			s.JSON(t, "PATCH", "/api/v1/users/"+name, owner, map[string]any{"suspended": true}, http.StatusOK, nil)
		}
		st, out, _ := s.Do(t, "PATCH", "/api/v1/users/"+name, fed, c.change)
		if st != c.want {
			t.Errorf("fed token: %s %v = %d, want %d: %s", c.name, c.change, st, c.want, out)
			continue
		}
		if st != http.StatusForbidden {
			continue
		}
		if !strings.Contains(string(out), "federation") {
			t.Errorf("%s: the 403 does not say why: %s", c.name, out)
		}
		var u struct {
			Role      string `json:"role"`
			Suspended bool   `json:"suspended"`
		}
		s.JSON(t, "GET", "/api/v1/users/"+name, owner, nil, http.StatusOK, &u)
		if u.Role != c.role || u.Suspended != c.suspended {
			t.Errorf("%s: refused, yet the user is now %+v", c.name, u)
		}
	}
}

// A token, even an owner's * token, gives no account a password: the
// password would be a console sign-in that outlives the token (and, for
// one's own, would lock the real person out). Accounts without one are
// still made with tokens.
func TestAuthzMatrixATokenGivesNoAccountAPassword(t *testing.T) {
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	star := s.CreateToken(t, owner, map[string]any{"name": "automation", "scopes": []string{"*"}}).Secret
	for _, c := range []struct {
		name, method, path string
		body               map[string]any
	}{
		{"create an owner with a password", "POST", "/api/v1/users", map[string]any{"username": "mallory", "password": "token-chosen-pw", "role": "owner"}},
		{"create a member with a password", "POST", "/api/v1/users", map[string]any{"username": "mallory", "password": "token-chosen-pw"}},
		{"set your own password", "PATCH", "/api/v1/users/admin", map[string]any{"password": "token-chosen-pw"}},
	} {
		st, out, _ := s.Do(t, c.method, c.path, star, c.body)
		if st != http.StatusForbidden {
			t.Errorf("* token: %s = %d, want 403: %s", c.name, st, out)
			continue
		}
		if !strings.Contains(string(out), "latchkey login") || !strings.Contains(string(out), "console") {
			t.Errorf("%s: the 403 does not say what to do instead: %s", c.name, out)
		}
	}
	if st, _, _ := s.Do(t, "GET", "/api/v1/users/mallory", owner, nil); st != http.StatusNotFound {
		t.Errorf("a refused create made mallory: %d", st)
	}
	if st, _, _ := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"username": "admin", "password": "token-chosen-pw"}); st == http.StatusOK {
		t.Errorf("the token set the owner's password")
	}
	s.JSON(t, "POST", "/api/v1/users", star, map[string]any{"username": "robot", "kind": "service", "role": "admin"}, http.StatusCreated, nil)
	s.JSON(t, "POST", "/api/v1/users", owner, map[string]any{"username": "olga", "password": "session-chosen-pw", "role": "owner"}, http.StatusCreated, nil)
	s.JSON(t, "PATCH", "/api/v1/users/admin", owner, map[string]any{"password": "session-chosen-pw"}, http.StatusOK, nil)
}
