package auth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

func TestRevokedTokenIsRejectedOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		f.mustVerify(it.Secret)
		if err := f.svc.Tokens.Revoke(f.ctx, f.member, it.Token.ID); err != nil {
			t.Fatal(err)
		}
		f.refused(it.Secret, reasonRevoked)
	})
}

func TestRegeneratedTokenOldSecretIsRejectedOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		f.mustVerify(it.Secret)
		next, err := f.svc.Tokens.Regenerate(f.ctx, f.member, it.Token.ID, service.RegenerateInput{})
		if err != nil {
			t.Fatal(err)
		}
		f.refused(it.Secret, reasonUnknown)
		if p := f.mustVerify(next.Secret); p.Token.ID != it.Token.ID {
			t.Fatalf("new secret verified as token %s, want %s", p.Token.ID, it.Token.ID)
		}
	})
}

func TestRegeneratedTokenOldSecretWorksUntilGraceEnds(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		f.mustVerify(it.Secret)
		next, err := f.svc.Tokens.Regenerate(f.ctx, f.member, it.Token.ID, service.RegenerateInput{GracePeriod: "10m"})
		if err != nil {
			t.Fatal(err)
		}
		p := f.mustVerify(it.Secret)
		if p.ExpiresAt == nil || !p.ExpiresAt.Equal(f.clock.Now().Add(10*time.Minute)) {
			t.Fatalf("old secret expires at %v, want the end of the grace period", p.ExpiresAt)
		}
		f.mustVerify(next.Secret)
		f.clock.Advance(10 * time.Minute)
		f.refused(it.Secret, reasonUnknown)
		f.mustVerify(next.Secret)
	})
}

func TestDescopedTokenIsNarrowedOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo", "machine")
		if p := f.mustVerify(it.Secret); !p.Scopes.Has("repo") || !p.Scopes.Has("machine") {
			t.Fatalf("scopes %v, want repo and machine", p.Scopes.Strings())
		}
		scopes := []string{"repo:read=acme/*"}
		if _, err := f.svc.Tokens.Update(f.ctx, f.member, it.Token.ID, service.UpdateTokenInput{Scopes: &scopes}); err != nil {
			t.Fatal(err)
		}
		p, err := f.verify(it.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if p.Scopes.Has("repo") || p.Scopes.Has("machine") || !p.Allows("repo:read", "acme/web") || p.Allows("repo:read", "other/web") {
			t.Fatalf("after descoping, scopes are %v, want only repo:read=acme/*", p.Scopes.Strings())
		}
	})
}

func TestExpiredTokenIsRejectedWhenTheClockPassesItsExpiry(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		p := f.mustVerify(it.Secret)
		f.clock.Advance(p.ExpiresAt.Sub(f.clock.Now()) - time.Nanosecond)
		f.mustVerify(it.Secret)
		f.clock.Advance(time.Nanosecond)
		f.refused(it.Secret, reasonExpired)
	})
}

func TestLoweredMaximumLifetimeCapsCachedTokensWithinATenthOfASecond(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		f.clock.Advance(8 * 24 * time.Hour)
		f.mustVerify(it.Secret)
		if _, err := f.svc.Policies.Set(f.ctx, f.admin, service.PolicyInput{DefaultLifetime: "168h", MaxLifetime: "168h", Creation: "everyone"}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(100 * time.Millisecond) // verification re-reads the policy this often
		f.refused(it.Secret, reasonExpired)
	})
}

func TestSuspendedOwnersTokensAreRejectedOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		other := f.create(f.member, "deploy", "machine")
		f.mustVerify(it.Secret)
		f.mustVerify(other.Secret)
		yes, no := true, false
		if _, err := f.svc.Users.Update(f.ctx, f.admin, f.member.User.ID, service.UpdateUserInput{Suspended: &yes}); err != nil {
			t.Fatal(err)
		}
		f.refused(it.Secret, reasonSuspended)
		f.refused(other.Secret, reasonSuspended)
		if _, err := f.svc.Users.Update(f.ctx, f.admin, f.member.User.ID, service.UpdateUserInput{Suspended: &no}); err != nil {
			t.Fatal(err)
		}
		f.mustVerify(it.Secret)
	})
}

func TestDeletedOwnersTokensAreRejectedOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		f.mustVerify(it.Secret)
		if err := f.svc.Users.Delete(f.ctx, f.admin, f.member.User.ID); err != nil {
			t.Fatal(err)
		}
		// Deleting a user revokes the tokens in the same transaction.
		if _, err := f.verify(it.Secret); err == nil {
			t.Fatal("token of a deleted user still verifies")
		}
	})
}

func TestRoleChangeNarrowsTokensOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		ada := f.user("ada", store.RoleAdmin)
		it := f.create(ada, "ops", "admin:org", "repo")
		if p := f.mustVerify(it.Secret); !p.Scopes.Has("admin:org") {
			t.Fatalf("scopes %v, want admin:org", p.Scopes.Strings())
		}
		member := store.RoleMember
		if _, err := f.svc.Users.Update(f.ctx, f.admin, ada.User.ID, service.UpdateUserInput{Role: &member}); err != nil {
			t.Fatal(err)
		}
		p, err := f.verify(it.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if p.Scopes.Has("admin:org") || !p.Scopes.Has("repo") || p.User.Role != store.RoleMember {
			t.Fatalf("after demotion: role %s, scopes %v; want member with repo only", p.User.Role, p.Scopes.Strings())
		}
	})
}

func TestLoggedOutSessionIsRejectedOnNextRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		o, err := f.svc.Sessions.Login(f.ctx, "mia", "a-long-enough-password", "192.0.2.7", "test/1")
		if err != nil {
			t.Fatal(err)
		}
		p := f.mustVerify(o.Secret)
		if p.Session == nil || p.Session.ID != o.Session.ID || !p.Scopes.Has("repo") {
			t.Fatalf("session principal %+v, want session %s with the member role's scopes", p, o.Session.ID)
		}
		if err := f.svc.Sessions.Logout(f.ctx, service.Actor{User: p.User, Scopes: p.Scopes, CredentialID: p.CredentialID(), Session: true, IP: "192.0.2.7", Agent: "test/1"}, o.Session.ID); err != nil {
			t.Fatal(err)
		}
		f.refused(o.Secret, reasonEnded)
	})
}

func TestIPAllowlistIsCheckedOnEveryRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it, err := f.svc.Tokens.Create(f.ctx, f.member, service.CreateTokenInput{
			Name: "ci", Scopes: []string{"repo"}, Expiry: service.Expiry{ExpiresIn: "720h"}, IPAllowlist: []string{"192.0.2.0/24"},
		})
		if err != nil {
			t.Fatal(err)
		}
		f.mustVerify(it.Secret)
		if _, err := f.v.Verify(f.ctx, it.Secret, auth.Request{IP: "198.51.100.1"}); err == nil || err.Error() != reasonIP {
			t.Fatalf("from outside the allowlist: %v, want %q", err, reasonIP)
		}
	})
}

func TestCachedVerificationDoesNotReadTheStore(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	f.mustVerify(it.Secret)
	before := f.src.reads.Load()
	for range 100 {
		f.mustVerify(it.Secret)
	}
	if n := f.src.reads.Load() - before; n != 0 {
		t.Fatalf("300 cached verifications read the store %d times, want 0", n)
	}
	// Another token of the same owner reuses the cached owner: one read.
	other := f.create(f.member, "deploy", "repo")
	before = f.src.reads.Load()
	f.mustVerify(other.Secret)
	if n := f.src.reads.Load() - before; n != 1 {
		t.Fatalf("first verification of a second token of a cached owner read the store %d times, want 1", n)
	}
}

func TestMalformedTokensAreRejectedWithoutAnyLookup(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	last := it.Secret[len(it.Secret)-1]
	typo := it.Secret[:len(it.Secret)-1] + string(map[bool]byte{true: 'a', false: 'b'}[last != 'a'])
	for name, raw := range map[string]string{
		"checksum": typo, "length": it.Secret + "x", "prefix": "zz" + it.Secret[2:], "empty": "",
	} {
		_, err := f.verify(raw)
		if err == nil {
			t.Fatalf("%s: malformed token verified", name)
		}
		if strings.Contains(err.Error(), it.Secret[7:20]) {
			t.Fatalf("%s: error %q echoes the secret", name, err)
		}
	}
	if n := f.src.reads.Load(); n != 0 {
		t.Fatalf("malformed tokens caused %d store reads, want 0", n)
	}
}

func TestUnknownTokenIsAnsweredFromTheNegativeCacheUntilItsTTL(t *testing.T) {
	f := newFixture(t, true)
	secret, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		f.refused(secret, reasonUnknown)
	}
	if n := f.src.reads.Load(); n != 1 {
		t.Fatalf("50 requests with one unknown token read the store %d times, want 1", n)
	}
	// The token appears (made on another replica, or restored): it works
	// once the negative entry has expired.
	d := token.Hash(secret)
	now := f.clock.Now()
	if err := f.st.CreateToken(f.ctx, &store.Token{
		ID: "0199a0a0-0000-7000-8000-000000000001", UserID: f.member.User.ID, Kind: store.TokenPersonal, Name: "late",
		Scopes: []string{"repo"}, Digest: d[:], Hint: token.Hint(secret), CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}
	f.refused(secret, reasonUnknown)
	f.clock.Advance(negativeTTL)
	f.mustVerify(secret)
}

func TestChangesMadeElsewhereAreSeenWithinTheCacheTTL(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	f.mustVerify(it.Secret)
	// Another replica revokes the token: this node has no notification.
	if _, err := f.st.UpdateToken(f.ctx, it.Token.ID, func(t *store.Token) error {
		now := f.clock.Now()
		t.RevokedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(cacheTTL - time.Second)
	f.mustVerify(it.Secret) // stale, but within the bound
	f.clock.Advance(time.Second)
	f.refused(it.Secret, reasonRevoked)
}

func TestOwnerChangesMadeElsewhereAreSeenWithinTheCacheTTL(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	f.mustVerify(it.Secret)
	f.clock.Advance(cacheTTL / 2)
	// A second token cached later must not extend the owner's staleness.
	other := f.create(f.member, "deploy", "repo")
	f.mustVerify(other.Secret)
	if _, err := f.st.UpdateUser(f.ctx, f.member.User.ID, func(u *store.User) error { u.Suspended = true; return nil }); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(cacheTTL / 2)
	f.refused(it.Secret, reasonSuspended)
	f.refused(other.Secret, reasonSuspended)
}

func TestRevocationRacingACacheMissIsNotCached(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	// The row is read while active; the revocation commits and invalidates
	// before the miss would store what it read.
	f.src.afterTokenRead = func() {
		if err := f.svc.Tokens.Revoke(f.ctx, f.member, it.Token.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.verify(it.Secret); err != nil {
		t.Fatalf("the request racing the revocation: %v", err)
	}
	f.refused(it.Secret, reasonRevoked)
}

func TestCacheStaysWithinItsSize(t *testing.T) {
	f := newFixture(t, false)
	cache := auth.NewCache(f.src, auth.CacheConfig{Size: 20, TTL: time.Minute})
	v := auth.NewChecker(cache, auth.Options{Prefix: "lk", Catalog: f.cat, Policy: f.svc.Policies, Now: f.clock.Now})
	secrets := make([]string, 200)
	for i := range secrets {
		secrets[i] = f.create(f.member, fmt.Sprintf("t%03d", i), "repo").Secret
	}
	for _, s := range secrets {
		if _, err := v.Verify(f.ctx, s, auth.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n > 20 {
		t.Fatalf("cache holds %d entries, bound is 20", n)
	}
	// Evicted entries are simply read again.
	for _, s := range secrets {
		if _, err := v.Verify(f.ctx, s, auth.Request{}); err != nil {
			t.Fatal(err)
		}
	}
}
