package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

// badInput is one malformed request: who sends it (a role of the world),
// what it is, the status it must get and a word its explanation must use.
type badInput struct {
	name    string
	as      string // "owner", "member", "token" (the member's tokens-scoped PAT), "none"
	call    call
	status  int
	mention string // case-insensitive; "" = any non-empty detail
}

func mustGenerate(t testing.TB, prefix string, kind token.Kind) string {
	t.Helper()
	s, err := token.Generate(prefix, kind)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func badInputs(t testing.TB, tokenID, memberPAT, revokedPAT string) []badInput {
	post := func(body any) call { return call{Method: http.MethodPost, Path: "/api/v1/tokens", Body: body} }
	patch := func(body any) call {
		return call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + tokenID, Body: body}
	}
	regen := func(body any) call {
		return call{Method: http.MethodPost, Path: "/api/v1/tokens/" + tokenID + "/regenerate", Body: body}
	}
	list := func(kv ...string) call { return call{Method: http.MethodGet, Path: "/api/v1/tokens" + q(kv...)} }
	policy := func(body map[string]any) call {
		full := map[string]any{"default_lifetime": "", "max_lifetime": "", "allow_no_expiry": true, "creation": "everyone"}
		for k, v := range body {
			full[k] = v
		}
		return call{Method: http.MethodPut, Path: "/api/v1/policy", Body: full}
	}
	user := func(body any) call { return call{Method: http.MethodPost, Path: "/api/v1/users", Body: body} }
	meWith := func(auth string) call { return call{Method: http.MethodGet, Path: "/api/v1/me", Auth: auth} }
	past := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	soon := time.Now().Add(10 * time.Second).UTC().Format(time.RFC3339)
	far := time.Now().AddDate(200, 0, 0).UTC().Format(time.RFC3339)
	valid := mustGenerate(t, "lk", token.Personal)
	broken := valid[:len(valid)-1] + "A" // same shape, wrong checksum
	if strings.HasSuffix(valid, "A") {
		broken = valid[:len(valid)-1] + "B"
	}
	many := make([]string, 65)
	for i := range many {
		many[i] = "repo"
	}
	ipList := make([]string, 65)
	for i := range ipList {
		ipList[i] = fmt.Sprintf("10.0.0.%d", i)
	}
	huge := strings.Repeat("n", 10_000)

	return []badInput{
		// Bodies that are not the JSON object asked for.
		{"create: body is not JSON", "member", post(`{"name": `), 400, "json"},
		{"create: body is an array", "member", post(`[]`), 422, "object"},
		{"create: body is a string", "member", post(`"token please"`), 422, "object"},
		{"create: body is empty", "member", post(``), 400, "body"},
		{"create: body is XML", "member", call{Method: http.MethodPost, Path: "/api/v1/tokens", Body: `<name>x</name>`, ContentType: "application/xml"}, 415, "json"},
		{"create: unknown field", "member", post(map[string]any{"name": "x", "expire_in": "30d"}), 422, "expire_in"},
		// Names.
		{"create: name missing", "member", post(map[string]any{}), 422, "name"},
		{"create: name empty", "member", post(map[string]any{"name": ""}), 422, "name"},
		{"create: name blank", "member", post(map[string]any{"name": "   "}), 422, "name"},
		{"create: name is a number", "member", post(map[string]any{"name": 42}), 422, "name"},
		{"create: name is null", "member", post(`{"name": null}`), 422, "name"},
		{"create: name huge", "member", post(map[string]any{"name": huge}), 422, "name"},
		{"create: name 101 characters", "member", post(map[string]any{"name": strings.Repeat("é", 101)}), 422, "name"},
		{"create: name with a NUL", "member", post(map[string]any{"name": "a\x00b"}), 422, "name"},
		{"create: name with a newline", "member", post(map[string]any{"name": "a\nb"}), 422, "name"},
		{"create: name not UTF-8", "member", post("{\"name\": \"\xff\xfe\"}"), 422, "UTF-8"},
		{"create: body over 1 MiB", "member", post(`{"name": "` + strings.Repeat("n", 1<<20+10) + `"}`), 413, "too large"},
		// Descriptions.
		{"create: description is a list", "member", post(map[string]any{"name": "x", "description": []string{"a"}}), 422, "description"},
		{"create: description huge", "member", post(map[string]any{"name": "x", "description": strings.Repeat("d", 5000)}), 422, "description"},
		// Scopes.
		{"create: scopes is a string", "member", post(map[string]any{"name": "x", "scopes": "repo"}), 422, "scopes"},
		{"create: scopes holds a number", "member", post(map[string]any{"name": "x", "scopes": []any{1}}), 422, "scopes"},
		{"create: unknown scope", "member", post(map[string]any{"name": "x", "scopes": []string{"repos"}}), 422, "repos"},
		{"create: upper-case scope", "member", post(map[string]any{"name": "x", "scopes": []string{"REPO"}}), 422, "REPO"},
		{"create: empty scope", "member", post(map[string]any{"name": "x", "scopes": []string{""}}), 422, "empty"},
		{"create: scope not narrowable", "member", post(map[string]any{"name": "x", "scopes": []string{"tokens=acme/*"}}), 422, "narrowed"},
		{"create: empty resource pattern", "member", post(map[string]any{"name": "x", "scopes": []string{"repo:read="}}), 422, "pattern"},
		{"create: bad glob", "member", post(map[string]any{"name": "x", "scopes": []string{"repo:read=acme/[a"}}), 422, "glob"},
		{"create: 65 scopes", "member", post(map[string]any{"name": "x", "scopes": many}), 422, "scopes"},
		// Expirations.
		{"create: expires_in gibberish", "member", post(map[string]any{"name": "x", "expires_in": "soon"}), 422, "expires_in"},
		{"create: expires_in negative", "member", post(map[string]any{"name": "x", "expires_in": "-5m"}), 422, "expires_in"},
		{"create: expires_in negative days", "member", post(map[string]any{"name": "x", "expires_in": "-3d"}), 422, "expires_in"},
		{"create: expires_in zero", "member", post(map[string]any{"name": "x", "expires_in": "0s"}), 422, "expires_in"},
		{"create: expires_in under a minute", "member", post(map[string]any{"name": "x", "expires_in": "30s"}), 422, "1m"},
		{"create: expires_in over 100 years", "member", post(map[string]any{"name": "x", "expires_in": "1000000h"}), 422, "100 years"},
		{"create: expires_in overflows", "member", post(map[string]any{"name": "x", "expires_in": "99999999999999999999d"}), 422, "expires_in"},
		{"create: expires_in is a number", "member", post(map[string]any{"name": "x", "expires_in": 720}), 422, "expires_in"},
		{"create: expires_in unknown unit", "member", post(map[string]any{"name": "x", "expires_in": "3y"}), 422, "expires_in"},
		{"create: expires_at in the past", "member", post(map[string]any{"name": "x", "expires_at": past}), 422, "future"},
		{"create: expires_at in 10 seconds", "member", post(map[string]any{"name": "x", "expires_at": soon}), 422, "minute"},
		{"create: expires_at 200 years away", "member", post(map[string]any{"name": "x", "expires_at": far}), 422, "100 years"},
		{"create: expires_at not a time", "member", post(map[string]any{"name": "x", "expires_at": "tomorrow"}), 422, "expires_at"},
		{"create: expires_at date only", "member", post(map[string]any{"name": "x", "expires_at": "2030-01-01"}), 422, "expires_at"},
		{"create: expires_at is a number", "member", post(map[string]any{"name": "x", "expires_at": 1893456000}), 422, "expires_at"},
		{"create: expires_in and expires_at", "member", post(map[string]any{"name": "x", "expires_in": "7d", "expires_at": far}), 422, "only one"},
		{"create: no_expiry and expires_in", "member", post(map[string]any{"name": "x", "expires_in": "7d", "no_expiry": true}), 422, "only one"},
		{"create: no_expiry is a string", "member", post(map[string]any{"name": "x", "no_expiry": "yes"}), 422, "no_expiry"},
		// Owners and allowlists.
		{"create: user_id unknown uuid", "owner", post(map[string]any{"name": "x", "user_id": "01890000-0000-7000-8000-000000000000"}), 404, "01890000"},
		{"create: user_id is a number", "owner", post(map[string]any{"name": "x", "user_id": 7}), 422, "user_id"},
		{"create: ip_allowlist entry not an IP", "member", post(map[string]any{"name": "x", "ip_allowlist": []string{"not-an-ip"}}), 422, "not-an-ip"},
		{"create: ip_allowlist bad prefix length", "member", post(map[string]any{"name": "x", "ip_allowlist": []string{"10.0.0.0/33"}}), 422, "10.0.0.0/33"},
		{"create: ip_allowlist too long", "member", post(map[string]any{"name": "x", "ip_allowlist": ipList}), 422, "ip_allowlist"},
		{"create: duplicate name", "member", post(map[string]any{"name": "existing"}), 409, "existing"},
		// Update.
		{"update: scopes is a string", "member", patch(map[string]any{"scopes": "repo"}), 422, "scopes"},
		{"update: unknown scope", "member", patch(map[string]any{"scopes": []string{"root"}}), 422, "root"},
		{"update: description huge", "member", patch(map[string]any{"description": strings.Repeat("d", 5000)}), 422, "description"},
		{"update: description with control characters", "member", patch(map[string]any{"description": "bell\a"}), 422, "description"},
		{"update: description reversed by an override", "member", patch(map[string]any{"description": "deploys \u202eexe.bat"}), 422, "direction-changing"},
		{"create: invisible name", "member", post(map[string]any{"name": "\u202e\u200b"}), 422, "invisible"},
		{"create: name with a zero width space", "member", post(map[string]any{"name": "ci\u200b-deploy"}), 422, "invisible"},
		{"update: body not JSON", "member", patch(`description=x`), 400, "json"},
		{"update: unknown field", "member", patch(map[string]any{"name": "renamed"}), 422, "name"},
		{"update: id not a uuid", "member", call{Method: http.MethodPatch, Path: "/api/v1/tokens/not-a-token", Body: map[string]any{"description": "x"}}, 404, "not-a-token"},
		{"update: id unknown", "member", call{Method: http.MethodPatch, Path: "/api/v1/tokens/01890000-0000-7000-8000-000000000000", Body: map[string]any{"description": "x"}}, 404, "01890000"},
		// Regenerate.
		{"regenerate: negative grace period", "member", regen(map[string]any{"grace_period": "-1m"}), 422, "grace_period"},
		{"regenerate: grace period over 7 days", "member", regen(map[string]any{"grace_period": "8d"}), 422, "grace_period"},
		{"regenerate: grace period gibberish", "member", regen(map[string]any{"grace_period": "a while"}), 422, "grace_period"},
		{"regenerate: grace period a number", "member", regen(map[string]any{"grace_period": 600}), 422, "grace_period"},
		{"regenerate: expires_at in the past", "member", regen(map[string]any{"expires_at": past}), 422, "future"},
		{"regenerate: expires_in negative", "member", regen(map[string]any{"expires_in": "-1h"}), 422, "expires_in"},
		{"regenerate: body an array", "member", regen(`[1,2]`), 422, "object"},
		{"regenerate: unknown token", "member", call{Method: http.MethodPost, Path: "/api/v1/tokens/01890000-0000-7000-8000-000000000000/regenerate"}, 404, "01890000"},
		// Listing.
		{"list: negative limit", "member", list("limit", "-1"), 422, "limit"},
		{"list: huge limit", "member", list("limit", "100000"), 422, "limit"},
		{"list: limit not a number", "member", list("limit", "ten"), 422, "limit"},
		{"list: cursor gibberish", "member", list("cursor", "!!!"), 422, "cursor"},
		{"list: cursor of something else", "member", list("cursor", "aGVsbG8"), 422, "cursor"},
		{"list: cursor too long", "member", list("cursor", strings.Repeat("A", 300)), 422, "cursor"},
		{"list: unknown state", "member", list("state", "zombie"), 422, "state"},
		{"list: unknown scope", "member", list("scope", "nope"), 422, "nope"},
		{"list: all is not a boolean", "member", list("all", "maybe"), 422, "all"},
		{"list: unknown user", "owner", list("user_id", "nobody-here"), 404, "nobody-here"},
		{"usage: days out of range", "member", call{Method: http.MethodGet, Path: "/api/v1/tokens/" + tokenID + "/usage?days=0"}, 422, "days"},
		// Policy.
		{"policy: negative max_lifetime", "owner", policy(map[string]any{"max_lifetime": "-1h"}), 422, "max_lifetime"},
		{"policy: default_lifetime gibberish", "owner", policy(map[string]any{"default_lifetime": "forever"}), 422, "default_lifetime"},
		{"policy: default above max", "owner", policy(map[string]any{"default_lifetime": "90d", "max_lifetime": "30d"}), 422, "default_lifetime"},
		{"policy: max_lifetime under a minute", "owner", policy(map[string]any{"max_lifetime": "30s"}), 422, "max_lifetime"},
		{"policy: creation unknown", "owner", policy(map[string]any{"creation": "nobody"}), 422, "creation"},
		{"policy: allow_no_expiry a string", "owner", policy(map[string]any{"allow_no_expiry": "true"}), 422, "allow_no_expiry"},
		{"policy: revoke_unused_for under a day", "owner", policy(map[string]any{"revoke_unused_for": "1h"}), 422, "revoke_unused_for"},
		{"policy: body not JSON", "owner", call{Method: http.MethodPut, Path: "/api/v1/policy", Body: `max_lifetime=30d`}, 400, "json"},
		// Users.
		{"user: name with a space", "owner", user(map[string]any{"username": "a b", "password": "long-enough-1"}), 422, "username"},
		{"user: password too short", "owner", user(map[string]any{"username": "shorty", "password": "short"}), 422, "password"},
		{"user: unknown role", "owner", user(map[string]any{"username": "god", "password": "long-enough-1", "role": "god"}), 422, "role"},
		{"user: unknown kind", "owner", user(map[string]any{"username": "robo", "password": "long-enough-1", "kind": "robot"}), 422, "kind"},
		{"user: service account with a password", "owner", user(map[string]any{"username": "bot", "password": "long-enough-1", "kind": "service"}), 422, "password"},
		{"user: name taken", "owner", user(map[string]any{"username": "mia", "password": "long-enough-1"}), 409, "mia"},
		{"user: suspended not a boolean", "owner", call{Method: http.MethodPatch, Path: "/api/v1/users/mia", Body: map[string]any{"suspended": "yes"}}, 422, "suspended"},
		{"user: unknown user", "owner", call{Method: http.MethodGet, Path: "/api/v1/users/nobody-here"}, 404, "nobody-here"},
		// Login.
		{"login: empty body", "none", call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{}}, 422, "username"},
		{"login: wrong password", "none", call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "mia", "password": "wrong-password"}}, 401, "password"},
		{"login: password a number", "none", call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "mia", "password": 12345678}}, 422, "password"},
		// Audit.
		{"audit: since not a time", "owner", call{Method: http.MethodGet, Path: "/api/v1/audit?since=yesterday"}, 422, "since"},
		{"audit: until before since", "owner", call{Method: http.MethodGet, Path: "/api/v1/audit" + q("since", "2030-01-02T00:00:00Z", "until", "2030-01-01T00:00:00Z")}, 422, "until"},
		{"audit: bad cursor", "owner", call{Method: http.MethodGet, Path: "/api/v1/audit?cursor=zzz"}, 422, "cursor"},
		{"audit: NUL in a filter", "owner", call{Method: http.MethodGet, Path: "/api/v1/audit?action=token.%00"}, 422, "action"},
		{"list: NUL in user_id", "owner", list("user_id", "a\x00b"), 404, "user"},
		{"login: NUL in the user name", "none", call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"username": "mia\x00", "password": memberPassword}}, 401, "password"},
		// Credentials of every shape.
		{"auth: no credential", "none", call{Method: http.MethodGet, Path: "/api/v1/tokens"}, 401, "Bearer"},
		{"auth: Bearer without a token", "none", meWith("Bearer"), 401, "authorization"},
		{"auth: Bearer and spaces", "none", meWith("Bearer    "), 401, "authorization"},
		{"auth: unknown scheme", "none", meWith("Digest username=\"x\""), 401, "authorization"},
		{"auth: gibberish token", "none", meWith("Bearer hunter2"), 401, "token"},
		{"auth: bad checksum", "none", meWith(bearer(broken)), 401, "checksum"},
		{"auth: unknown well-formed token", "none", meWith(bearer(valid)), 401, "not valid"},
		{"auth: unknown session token", "none", meWith(bearer(mustGenerate(t, "lk", token.Session))), 401, "not valid"},
		{"auth: other prefix", "none", meWith(bearer(mustGenerate(t, "gh", token.Personal))), 401, "lk_"},
		{"auth: kind swapped", "none", meWith(bearer(strings.Replace(memberPAT, "_pat_", "_adm_", 1))), 401, "token"},
		{"auth: truncated token", "none", meWith(bearer(memberPAT[:len(memberPAT)-3])), 401, "token"},
		{"auth: token with trailing junk", "none", meWith(bearer(memberPAT + "x")), 401, "token"},
		{"auth: huge token", "none", meWith(bearer("lk_pat_" + strings.Repeat("a", 6000))), 401, "token"},
		{"auth: non-ASCII token", "none", meWith(bearer("lk_pat_ünïcødé")), 401, "token"},
		{"auth: revoked token", "none", meWith(bearer(revokedPAT)), 401, "revoked"},
		{"auth: revoked token on a public route", "none", call{Method: http.MethodGet, Path: "/api/v1/scopes", Auth: bearer(revokedPAT)}, 401, "revoked"},
		{"auth: Basic not base64", "none", meWith("Basic !!!notbase64"), 401, "authorization"},
		{"auth: Basic without a colon", "none", meWith("Basic " + "bWlh"), 401, "authorization"},
		{"auth: Basic empty password", "none", meWith(basic("mia", "")), 401, "authorization"},
		{"auth: Basic with a wrong password", "none", meWith(basic("mia", memberPassword)), 401, "token"},
		// Routes.
		{"route: unknown API path", "member", call{Method: http.MethodGet, Path: "/api/v1/nope"}, 404, "/api/v1/nope"},
		{"route: wrong method", "member", call{Method: http.MethodPut, Path: "/api/v1/tokens", Body: map[string]any{}}, 405, "PUT"},
	}
}

func TestMalformedInputGetsAnExplained4xxProblem(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		target := createToken(t, s, w.Member, map[string]any{"name": "existing"})
		pat := createToken(t, s, w.Member, map[string]any{"name": "pat", "scopes": []string{"tokens"}})
		revoked := createToken(t, s, w.Member, map[string]any{"name": "revoked"})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + revoked.Token.ID, Auth: w.Member})
		cases := badInputs(t, target.Token.ID, pat.Secret, revoked.Secret)
		if len(cases) < 45 {
			t.Fatalf("only %d malformed inputs", len(cases))
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.call.Auth == "" {
					switch c.as {
					case "owner":
						c.call.Auth = w.Owner
					case "member":
						c.call.Auth = w.Member
					case "token":
						c.call.Auth = bearer(pat.Secret)
					}
				}
				r := send(t, s, c.call)
				if r.Status >= 500 {
					t.Fatalf("server error: %s", r)
				}
				p := wantProblem(t, r, c.status)
				if c.status == http.StatusUnauthorized {
					want401(t, r)
				}
				if !strings.Contains(strings.ToLower(p.text()), strings.ToLower(c.mention)) {
					t.Errorf("explanation does not mention %q: %s", c.mention, p.text())
				}
			})
		}
		// None of it changed the token it aimed at.
		if got := getToken(t, s, w.Member, target.Token.ID); got.Description != "" || got.Hint != target.Token.Hint || got.State != "active" {
			t.Errorf("malformed requests changed the token: %+v", got)
		}
	})
}

// oddValues are values of every JSON type and of the shapes that break
// parsers: each is put in place of each field of each request body.
var oddValues = []any{
	nil, 0, -1, 1.5, 1e308, true, "", " ", "-1h", "0s", "9999999999999999d", "1e9h",
	"2001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "not-a-date", "../../etc/passwd", "a\x00b",
	"'; DROP TABLE tokens; --", "ünïcødé ✓", strings.Repeat("x", 5000), []any{}, []any{nil},
	[]any{1, "a"}, []any{strings.Repeat("y", 300)}, map[string]any{}, map[string]any{"a": []any{}},
}

func TestNoFieldValueCausesAServerError(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "target", "scopes": []string{"tokens"}})
		routes := []struct {
			method, path, auth string
			body               map[string]any
		}{
			{http.MethodPost, "/api/v1/tokens", w.Owner, map[string]any{"name": "n", "description": "d", "scopes": []string{"repo"}, "expires_in": "7d", "expires_at": nil, "no_expiry": false, "user_id": "mia", "ip_allowlist": []string{"10.0.0.0/8"}}},
			{http.MethodPatch, "/api/v1/tokens/" + tk.Token.ID, w.Member, map[string]any{"description": "d", "scopes": []string{"tokens"}, "ip_allowlist": []string{}}},
			{http.MethodPost, "/api/v1/tokens/" + tk.Token.ID + "/regenerate", w.Member, map[string]any{"expires_in": "7d", "expires_at": nil, "no_expiry": false, "grace_period": "1m"}},
			{http.MethodPut, "/api/v1/policy", w.Owner, map[string]any{"default_lifetime": "30d", "max_lifetime": "90d", "allow_no_expiry": true, "creation": "everyone", "revoke_unused_for": ""}},
			{http.MethodPost, "/api/v1/users", w.Owner, map[string]any{"username": "u", "password": "long-password", "role": "member", "kind": "person"}},
			{http.MethodPatch, "/api/v1/users/otto", w.Owner, map[string]any{"role": "member", "suspended": false}},
			{http.MethodPost, "/api/v1/auth/login", "", map[string]any{"username": "nobody", "password": "wrong-password"}},
		}
		seen := 0
		for _, rt := range routes {
			for field := range rt.body {
				for i, v := range oddValues {
					body := map[string]any{}
					for k, x := range rt.body {
						body[k] = x
					}
					body[field] = v
					if rt.path == "/api/v1/users" {
						body["username"] = fmt.Sprintf("u%d-%s", i, strings.ReplaceAll(field, "_", ""))
						if field == "username" {
							body[field] = v
						}
					}
					if rt.path == "/api/v1/tokens" && field != "name" {
						body["name"] = fmt.Sprintf("n-%s-%d", field, i)
					}
					r := send(t, s, call{Method: rt.method, Path: rt.path, Auth: rt.auth, Body: body})
					seen++
					if r.Status >= 500 {
						t.Errorf("%s %s with %s=%.40v: %s", rt.method, rt.path, field, v, r)
						continue
					}
					if r.Status >= 400 {
						if p := wantProblemSoft(r); p != "" {
							t.Errorf("%s %s with %s=%.40v: %s", rt.method, rt.path, field, v, p)
						}
					}
				}
			}
			// Reset what the sweep may have changed. The sweep's refused
			// credentials count against this test's one address, and its
			// user changes drop the owner's cached session, so wait out
			// the failure limit first (Retry-After is a second or two).
			for i := 0; i < 60 && meStatus(t, s, w.Owner).Status == http.StatusTooManyRequests; i++ {
				time.Sleep(time.Second)
			}
			putPolicy(t, s, w.Owner, policyJSON{DefaultLifetime: "180d", AllowNoExpiry: true, Creation: "everyone"})
		}
		t.Logf("%d requests, none a server error", seen)
	})
}

// wantProblemSoft is wantProblem that returns what is wrong instead of
// failing, for sweeps.
func wantProblemSoft(r reply) string {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return "Content-Type " + ct + ", not a problem: " + string(r.Body)
	}
	var p problemBody
	if err := json.Unmarshal(r.Body, &p); err != nil || strings.TrimSpace(p.Detail) == "" {
		return "problem without a detail: " + string(r.Body)
	}
	return ""
}
