package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func federationTests() []test {
	return []test{
		{"FederationPolicyRoundTrip", testFederationPolicyRoundTrip},
		{"FederationPolicyNameIsUnique", testFederationPolicyNameIsUnique},
		{"FederatedTokenKeepsPolicyAndClaims", testFederatedTokenKeepsPolicyAndClaims},
		{"RevokeFederatedTokensRevokesOnlyThatPolicysLiveTokens", testRevokeFederatedTokens},
		{"FederationJTIIsClaimedOnce", testFederationJTIIsClaimedOnce},
		{"DeleteExpiredFederatedTokensDeletesOnlyExpiredFedTokens", testDeleteExpiredFederatedTokens},
	}
}

func newFedPolicy(saID, name string) *store.FederationPolicy {
	return &store.FederationPolicy{
		ID: newID(), Name: name, Issuer: "https://token.actions.githubusercontent.com", Audience: "latchkey",
		Conditions:       map[string]string{"repository": "acme/web", "ref": "refs/heads/*"},
		ServiceAccountID: saID, Scopes: []string{"repo:read"}, MaxLifetime: 10 * time.Minute,
		CreatedAt: base, UpdatedAt: base,
	}
}

func testFederationPolicyRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	sa := mustUser(t, s, "deployer")
	p := newFedPolicy(sa.ID, "web-deploy")
	if err := s.CreateFederationPolicy(ctx, p); err != nil {
		t.Fatalf("CreateFederationPolicy: %v", err)
	}
	got, err := s.GetFederationPolicy(ctx, p.ID)
	if err != nil {
		t.Fatalf("GetFederationPolicy: %v", err)
	}
	want := *p
	want.CreatedAt, want.UpdatedAt = micro(base), micro(base)
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, &want)
	}
	up, err := s.UpdateFederationPolicy(ctx, p.ID, func(x *store.FederationPolicy) error {
		x.Disabled, x.Conditions, x.UpdatedAt = true, map[string]string{"sub": "repo:acme/*"}, base.Add(time.Hour)
		return nil
	})
	if err != nil || !up.Disabled || up.Conditions["sub"] != "repo:acme/*" || len(up.Conditions) != 1 {
		t.Fatalf("UpdateFederationPolicy = %+v, %v", up, err)
	}
	other := newFedPolicy(sa.ID, "other")
	other.Issuer = "https://gitlab.com"
	if err := s.CreateFederationPolicy(ctx, other); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListFederationPolicies(ctx, store.FederationPolicyFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("ListFederationPolicies = %d, %v; want 2", len(all), err)
	}
	gl, err := s.ListFederationPolicies(ctx, store.FederationPolicyFilter{Issuer: "https://gitlab.com"})
	if err != nil || len(gl) != 1 || gl[0].ID != other.ID {
		t.Fatalf("ListFederationPolicies(issuer) = %v, %v; want only %s", gl, err, other.ID)
	}
	page, err := s.ListFederationPolicies(ctx, store.FederationPolicyFilter{Cursor: all[0].ID})
	if err != nil || len(page) != 1 || page[0].ID != all[1].ID {
		t.Fatalf("ListFederationPolicies(cursor) = %v, %v", page, err)
	}
	if err := s.DeleteFederationPolicy(ctx, p.ID); err != nil {
		t.Fatalf("DeleteFederationPolicy: %v", err)
	}
	if _, err := s.GetFederationPolicy(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFederationPolicy after delete = %v; want ErrNotFound", err)
	}
	if err := s.DeleteFederationPolicy(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteFederationPolicy = %v; want ErrNotFound", err)
	}
}

func testFederationPolicyNameIsUnique(t *testing.T, s store.Store) {
	sa := mustUser(t, s, "deployer")
	if err := s.CreateFederationPolicy(t.Context(), newFedPolicy(sa.ID, "Deploy")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFederationPolicy(t.Context(), newFedPolicy(sa.ID, "deploy")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("same name in other case = %v; want ErrConflict", err)
	}
	if err := s.CreateFederationPolicy(t.Context(), newFedPolicy("no-such-user", "x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown service account = %v; want ErrNotFound", err)
	}
}

func fedToken(policyID string) func(*store.Token) {
	return func(tk *store.Token) {
		tk.Kind, tk.FederationPolicyID = store.TokenFederated, policyID
		tk.FederationClaims = map[string]string{"repository": "acme/web", "run_id": "42"}
	}
}

func testFederatedTokenKeepsPolicyAndClaims(t *testing.T, s store.Store) {
	sa := mustUser(t, s, "deployer")
	tk := mustToken(t, s, sa.ID, "fed-1", fedToken("p1"))
	for name, get := range map[string]func() (*store.Token, error){
		"GetToken":         func() (*store.Token, error) { return s.GetToken(t.Context(), tk.ID) },
		"GetTokenByDigest": func() (*store.Token, error) { return s.GetTokenByDigest(t.Context(), tk.Digest) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Kind != store.TokenFederated || got.FederationPolicyID != "p1" || !reflect.DeepEqual(got.FederationClaims, tk.FederationClaims) {
			t.Errorf("%s = kind %q policy %q claims %v; want fed, p1, %v", name, got.Kind, got.FederationPolicyID, got.FederationClaims, tk.FederationClaims)
		}
	}
	plain := mustToken(t, s, sa.ID, "plain")
	got, err := s.GetToken(t.Context(), plain.ID)
	if err != nil || got.FederationPolicyID != "" || got.FederationClaims != nil {
		t.Errorf("plain token = %+v, %v; want no federation fields", got, err)
	}
	list, err := s.ListTokens(t.Context(), store.TokenFilter{Kind: store.TokenFederated})
	if err != nil || len(list) != 1 || list[0].ID != tk.ID {
		t.Errorf("ListTokens(kind fed) = %v, %v; want only %s", list, err, tk.ID)
	}
}

func testRevokeFederatedTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	sa := mustUser(t, s, "deployer")
	a1 := mustToken(t, s, sa.ID, "a1", fedToken("pa"))
	a2 := mustToken(t, s, sa.ID, "a2", fedToken("pa"))
	old := mustToken(t, s, sa.ID, "a3", fedToken("pa"), func(tk *store.Token) { tk.RevokedAt = ptr(base) })
	b := mustToken(t, s, sa.ID, "b", fedToken("pb"))
	at := base.Add(time.Minute)
	got, err := s.RevokeFederatedTokens(ctx, "pa", at)
	if err != nil {
		t.Fatalf("RevokeFederatedTokens: %v", err)
	}
	ids := map[string]bool{}
	for _, tk := range got {
		ids[tk.ID] = true
		if tk.RevokedAt == nil || !tk.RevokedAt.Equal(micro(at)) || len(tk.Digest) != 32 {
			t.Errorf("returned token %s revoked_at %v digest %d bytes; want %v and its digest", tk.ID, tk.RevokedAt, len(tk.Digest), micro(at))
		}
	}
	if len(got) != 2 || !ids[a1.ID] || !ids[a2.ID] {
		t.Errorf("revoked %v; want exactly a1 and a2", ids)
	}
	if x, _ := s.GetToken(ctx, old.ID); x.RevokedAt == nil || !x.RevokedAt.Equal(micro(base)) {
		t.Errorf("already revoked token changed: %v", x.RevokedAt)
	}
	if x, _ := s.GetToken(ctx, b.ID); x.RevokedAt != nil {
		t.Errorf("other policy's token revoked")
	}
}

func testFederationJTIIsClaimedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := base.Add(5 * time.Minute)
	for i, want := range []bool{true, false} {
		ok, err := s.ClaimFederationJTI(ctx, "https://gitlab.com", "j1", exp)
		if err != nil || ok != want {
			t.Fatalf("claim #%d = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	if ok, err := s.ClaimFederationJTI(ctx, "https://token.actions.githubusercontent.com", "j1", exp); err != nil || !ok {
		t.Errorf("same jti of another issuer = %v, %v; want claimed", ok, err)
	}
	n, err := s.DeleteFederationJTIsBefore(ctx, exp.Add(time.Second))
	if err != nil || n != 2 {
		t.Errorf("DeleteFederationJTIsBefore = %d, %v; want 2", n, err)
	}
	if ok, _ := s.ClaimFederationJTI(ctx, "https://gitlab.com", "j1", exp); !ok {
		t.Errorf("claim after cleanup refused")
	}
}

// testDeleteExpiredFederatedTokens: federation tokens that expired before
// the time go, with their usage and last use (the backends delete in
// chunks, which their own tests make smaller than the three expired
// here); a federation token expiring later, or expiring at the time
// itself, and every other kind of token, expired or not, stay.
func testDeleteExpiredFederatedTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	sa := mustUser(t, s, "ci-bot")
	cutoff := micro(base.Add(-30 * 24 * time.Hour)) // what the store keeps of a time: "at the cutoff" is exact
	expiring := func(at time.Time) func(*store.Token) {
		return func(tk *store.Token) { tk.ExpiresAt = ptr(at) }
	}
	var gone []*store.Token
	for i, at := range []time.Time{cutoff.Add(-365 * 24 * time.Hour), cutoff.Add(-time.Hour), cutoff.Add(-time.Microsecond)} {
		gone = append(gone, mustToken(t, s, sa.ID, fmt.Sprintf("fed-old-%d", i), fedToken("p1"), expiring(at)))
	}
	kept := []*store.Token{
		mustToken(t, s, sa.ID, "fed-at-the-cutoff", fedToken("p1"), expiring(cutoff)),
		mustToken(t, s, sa.ID, "fed-live", fedToken("p1"), expiring(base.Add(time.Minute))),
		mustToken(t, s, sa.ID, "pat-expired-long-ago", expiring(cutoff.Add(-365*24*time.Hour))),
		mustToken(t, s, sa.ID, "pat-never-expires"),
	}
	var uses []store.TokenUse
	for _, tk := range append(slices.Clone(gone), kept...) {
		uses = append(uses, store.TokenUse{TokenID: tk.ID, At: base, IP: "10.0.0.1", Counts: map[string]int64{"2031-03-01": 2, "2031-03-04": 1}})
	}
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, uses))

	n, err := s.DeleteExpiredFederatedTokens(ctx, cutoff)
	noErr(t, "DeleteExpiredFederatedTokens", err)
	equal(t, "federation tokens deleted", len(gone), n)
	for _, tk := range gone {
		_, err := s.GetToken(ctx, tk.ID)
		wantErr(t, "GetToken of a deleted federation token", err, store.ErrNotFound)
		days, err := s.TokenUsage(ctx, tk.ID, time.Time{})
		noErr(t, "TokenUsage of a deleted federation token", err)
		equal(t, "usage of a deleted federation token", []store.UsageDay{}, days)
	}
	for _, tk := range kept {
		got, err := s.GetToken(ctx, tk.ID)
		noErr(t, "GetToken of "+tk.Name, err)
		equal(t, "last use of "+tk.Name, ptr(micro(base)), got.LastUsedAt)
		days, err := s.TokenUsage(ctx, tk.ID, time.Time{})
		noErr(t, "TokenUsage of "+tk.Name, err)
		equal(t, "usage of "+tk.Name, []store.UsageDay{day("2031-03-01", 2), day("2031-03-04", 1)}, days)
	}
	n, err = s.DeleteExpiredFederatedTokens(ctx, cutoff)
	noErr(t, "DeleteExpiredFederatedTokens again", err)
	equal(t, "federation tokens deleted the second time", 0, n)
}
