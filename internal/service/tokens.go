package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Invalidator is told about every change that verification must see at once
// on this node. The verification cache implements it; nil-safe callers use
// noInvalidator.
type Invalidator interface {
	// TokenChanged drops cached verification state of t (both digests).
	TokenChanged(t *store.Token)
	// UserChanged drops cached state of the user (role, suspension, deletion).
	UserChanged(userID string)
	// SessionRevoked drops a cached session.
	SessionRevoked(digest []byte)
}

type noInvalidator struct{}

func (noInvalidator) TokenChanged(*store.Token) {}
func (noInvalidator) UserChanged(string)        {}
func (noInvalidator) SessionRevoked([]byte)     {}

// Tokens runs the token lifecycle: create, list, show, update, regenerate,
// revoke.
type Tokens struct {
	store    store.Store
	catalog  *scope.Catalog
	policies *Policies
	audit    *Audit
	inval    Invalidator
	prefix   string
	now      func() time.Time
	notifier Notifier // expiry reminders and leak notices; nil = none
}

// CreateTokenInput is a request for a new token.
type CreateTokenInput struct {
	Name        string
	Description string
	Scopes      []string
	Expiry      Expiry
	UserID      string // on behalf of another user or a service account; "" = self
	IPAllowlist []string
}

// IssuedToken is a token together with its secret, which exists only in this
// value: it is shown once and never stored.
type IssuedToken struct {
	Token  *store.Token
	Secret string
}

// Input limits.
const (
	maxNameLen        = 100
	maxDescriptionLen = 1000
	maxScopes         = 64
	maxAllowlist      = 64
	maxGrace          = 7 * 24 * time.Hour
)

// Create issues a new token.
func (s *Tokens) Create(ctx context.Context, a Actor, in CreateTokenInput) (*IssuedToken, error) {
	if err := a.requireTokens(); err != nil {
		return nil, err
	}
	if err := a.refuseFederated("create tokens"); err != nil {
		return nil, err
	}
	p := s.policies.Current(ctx)
	if p.Creation == CreationAdmins && !a.IsAdmin() {
		// Refused before the owner is looked up: the answer is the same
		// whoever the token would be for.
		return nil, AuthorizeTokenWrite(TokenWrite{Op: OpCreate, Actor: a, Owner: a.User, Policy: p})
	}
	owner, err := s.owner(ctx, a, in.UserID)
	if err != nil {
		return nil, err
	}
	name, err := cleanName(in.Name)
	if err != nil {
		return nil, err
	}
	desc, err := cleanDescription(in.Description)
	if err != nil {
		return nil, err
	}
	set, err := s.grantable(a, owner, in.Scopes)
	if err != nil {
		return nil, err
	}
	allow, err := cleanAllowlist(in.IPAllowlist)
	if err != nil {
		return nil, err
	}
	if err := AuthorizeTokenWrite(TokenWrite{Op: OpCreate, Actor: a, Owner: owner, Policy: p, After: &set, AllowAfter: &allow}); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	exp, err := resolveExpiry(in.Expiry, now, p)
	if err != nil {
		return nil, err
	}
	kind := store.TokenPersonal
	if owner.Kind == store.KindService {
		kind = store.TokenAdmin
	}
	secret, err := token.Generate(s.prefix, token.Kind(kind))
	if err != nil {
		return nil, fmt.Errorf("generate token: %w", err)
	}
	digest := token.Hash(secret)
	t := &store.Token{
		ID: newID(), UserID: owner.ID, Kind: kind, Name: name, Description: desc,
		Scopes: set.Strings(), Digest: digest[:], Hint: token.Hint(secret),
		IPAllowlist: allow, CreatedAt: now, UpdatedAt: now, ExpiresAt: exp,
	}
	details := map[string]any{"name": name, "scopes": t.Scopes, "kind": string(kind), "expires_at": exp, "owner": owner.Username}
	// The token and its audit event are one write: no token exists that the
	// audit log does not show created.
	if err := s.store.CreateTokenWithAudit(ctx, t, s.audit.event(a, "token.create", "token", t.ID, details)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, conflict("name", "%s already has an active token named %q; choose another name or revoke that token first", owner.Username, name)
		}
		return nil, fmt.Errorf("create token: %w", err)
	}
	return &IssuedToken{Token: t, Secret: secret}, nil
}

// owner resolves who a new token belongs to and checks the actor may act for them.
func (s *Tokens) owner(ctx context.Context, a Actor, userID string) (*store.User, error) {
	if userID == "" || userID == a.User.ID || strings.EqualFold(userID, a.User.Username) {
		if a.User.Suspended {
			return nil, forbidden("your account is suspended")
		}
		return a.User, nil
	}
	if !a.IsAdmin() {
		return nil, a.notAdmin("create tokens on behalf of another user")
	}
	u, err := lookupUser(ctx, s.store, userID)
	if err != nil {
		return nil, err
	}
	if u.Suspended {
		return nil, conflict("user_id", "user %s is suspended; unsuspend them before creating tokens for them", u.Username)
	}
	return u, nil
}

// grantable parses scopes and checks that they fit both the owner's role and
// what the actor's own credential holds, so no token ever grants more than
// its owner has or its creator could do.
func (s *Tokens) grantable(a Actor, owner *store.User, scopes []string) (scope.Set, error) {
	if len(scopes) > maxScopes {
		return scope.Set{}, invalid("scopes", "at most %d scopes per token; got %d", maxScopes, len(scopes))
	}
	set, err := s.catalog.ParseSet(scopes)
	if err != nil {
		return scope.Set{}, invalid("scopes", "%v", err)
	}
	if missing := s.catalog.ForRole(string(owner.Role)).Missing(set); len(missing) > 0 {
		return scope.Set{}, forbidden("the %s role of %s does not allow %s; choose scopes within the role", owner.Role, owner.Username, strings.Join(missing, ", "))
	}
	if missing := a.Scopes.Missing(set); len(missing) > 0 {
		return scope.Set{}, forbidden("your credential does not hold %s, so it cannot grant it; use a session or a token that holds it", strings.Join(missing, ", "))
	}
	return set, nil
}

// Get returns one token the actor may see. Tokens of others look absent to
// non-admins, so their existence does not leak.
func (s *Tokens) Get(ctx context.Context, a Actor, id string) (*store.Token, error) {
	if err := a.requireTokens(); err != nil {
		return nil, err
	}
	return s.visible(ctx, a, id)
}

// LastUse returns the stored last use of the token the actor
// authenticated with (store.Store.GetTokenLastUse), whatever its scopes:
// /api/v1/me shows a token to its bearer. An actor of a session has none.
func (s *Tokens) LastUse(ctx context.Context, a Actor) (*store.Token, error) {
	if a.Session || uuid.Validate(a.CredentialID) != nil {
		return nil, notFound("the request was not authenticated with a token")
	}
	return s.store.GetTokenLastUse(ctx, a.CredentialID)
}

func (s *Tokens) visible(ctx context.Context, a Actor, id string) (*store.Token, error) {
	if uuid.Validate(id) != nil {
		return nil, notFound("no token with id %q; list your tokens to find its id", id)
	}
	t, err := s.store.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.UserID != a.User.ID && !a.IsAdmin()) {
		return nil, notFound("no token with id %q; list your tokens to find its id", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	return t, nil
}

// UpdateTokenInput changes a token without changing its secret. Nil fields
// are left alone.
type UpdateTokenInput struct {
	Description *string
	Scopes      *[]string
	IPAllowlist *[]string
}

// Update changes a token's description, scopes or IP allowlist.
func (s *Tokens) Update(ctx context.Context, a Actor, id string, in UpdateTokenInput) (*store.Token, error) {
	if err := a.requireTokens(); err != nil {
		return nil, err
	}
	cur, err := s.visible(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if cur.RevokedAt != nil {
		return nil, conflict("", "token %q is revoked and can no longer be changed", cur.Name)
	}
	owner, err := s.store.GetUser(ctx, cur.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, conflict("", "token %q belongs to a deleted user and can no longer be changed", cur.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("get token owner: %w", err)
	}
	var desc string
	if in.Description != nil {
		if desc, err = cleanDescription(*in.Description); err != nil {
			return nil, err
		}
	}
	var scopes []string
	var after *scope.Set
	if in.Scopes != nil {
		set, err := s.grantable(a, owner, *in.Scopes)
		if err != nil {
			return nil, err
		}
		scopes, after = set.Strings(), &set
	}
	var allow []string
	if in.IPAllowlist != nil {
		if allow, err = cleanAllowlist(*in.IPAllowlist); err != nil {
			return nil, err
		}
	}
	var allowAfter *[]string
	if in.IPAllowlist != nil {
		allowAfter = &allow
	}
	p := s.policies.Current(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	var changed map[string]any
	var t *store.Token
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		changed = map[string]any{}
		var err error
		t, err = s.store.UpdateToken(ctx, id, func(t *store.Token) error {
			if t.RevokedAt != nil {
				return conflict("", "token %q is revoked and can no longer be changed", t.Name)
			}
			// Decided on the row as it is inside the transaction, so a write
			// racing this one cannot turn a narrowing into a widening.
			before := s.parsedScopes(t)
			if err := AuthorizeTokenWrite(TokenWrite{Op: OpUpdate, Actor: a, Owner: owner, Policy: p,
				Before: &before, After: after, AllowBefore: t.IPAllowlist, AllowAfter: allowAfter}); err != nil {
				return err
			}
			if in.Description != nil && desc != t.Description {
				t.Description, changed["description"] = desc, desc
			}
			if in.Scopes != nil && !equalStrings(scopes, t.Scopes) {
				changed["scopes"] = map[string]any{"before": t.Scopes, "after": scopes}
				t.Scopes = scopes
			}
			if in.IPAllowlist != nil && !equalStrings(allow, t.IPAllowlist) {
				t.IPAllowlist, changed["ip_allowlist"] = allow, allow
			}
			t.UpdatedAt = now
			return nil
		})
		if err != nil || len(changed) == 0 {
			return err
		}
		if err := announceTokens(ctx, s.inval, t); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "token.update", "token", t.ID, changed)
	})
	if err != nil {
		return nil, wrapStore("update token", err)
	}
	s.inval.TokenChanged(t)
	return t, nil
}

// RegenerateInput asks for a new secret, optionally with a new expiry and a
// grace period during which the old secret still works.
type RegenerateInput struct {
	Expiry      Expiry
	GracePeriod string
}

// Regenerate gives a token a new secret, keeping its id, name and scopes.
func (s *Tokens) Regenerate(ctx context.Context, a Actor, id string, in RegenerateInput) (*IssuedToken, error) {
	if err := a.requireTokens(); err != nil {
		return nil, err
	}
	cur, err := s.visible(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if cur.Kind == store.TokenFederated {
		// A fed token lives one CI run, at most its policy's max_lifetime;
		// a new secret with a new expiry (up to 180d) would outlive both.
		return nil, conflict("", "token %q was issued by workload identity federation and cannot be regenerated: exchange a fresh OIDC token at /oauth2/token instead", cur.Name)
	}
	if err := a.refuseFederated("regenerate tokens"); err != nil {
		return nil, err
	}
	p := s.policies.Current(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	if EffectiveState(cur, p, now) == store.StateExpired {
		return nil, expiredRefusal(cur, p)
	}
	if err := s.mayHoldSecretOf(ctx, a, cur, p); err != nil {
		return nil, err
	}
	var grace time.Duration
	if in.GracePeriod != "" {
		if grace, err = ParseDuration(in.GracePeriod); err != nil {
			return nil, invalid("grace_period", "grace_period: %v", err)
		}
		if grace < 0 || grace > maxGrace {
			return nil, invalid("grace_period", "grace_period must be between 0s and 7d; got %q", in.GracePeriod)
		}
	}
	exp, err := regeneratedExpiry(cur, in.Expiry, now, p)
	if err != nil {
		return nil, err
	}
	secret, err := token.Generate(s.prefix, token.Kind(cur.Kind))
	if err != nil {
		return nil, fmt.Errorf("generate token: %w", err)
	}
	digest := token.Hash(secret)
	var old, t *store.Token
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		t, err = s.store.UpdateToken(ctx, id, func(t *store.Token) error {
			if t.RevokedAt != nil {
				return conflict("", "token %q is revoked; create a new token instead", t.Name)
			}
			if EffectiveState(t, p, now) == store.StateExpired {
				return expiredRefusal(t, p)
			}
			snapshot := *t
			old = &snapshot
			t.PrevDigest, t.PrevExpiresAt = nil, nil
			if grace > 0 {
				until := now.Add(grace)
				if e := EffectiveExpiry(t, p); e != nil && e.Before(until) {
					until = *e
				}
				t.PrevDigest, t.PrevExpiresAt = t.Digest, &until
			}
			t.Digest, t.Hint = digest[:], token.Hint(secret)
			t.ExpiresAt, t.RegeneratedAt, t.UpdatedAt = exp, &now, now
			return nil
		})
		if err != nil {
			return err
		}
		if err := announceTokens(ctx, s.inval, old, t); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "token.regenerate", "token", t.ID, map[string]any{
			"name": t.Name, "expires_at": exp, "grace_period": FormatDuration(grace),
		})
	})
	if err != nil {
		return nil, wrapStore("regenerate token", err)
	}
	s.inval.TokenChanged(old)
	s.inval.TokenChanged(t)
	return &IssuedToken{Token: t, Secret: secret}, nil
}

// mayHoldSecretOf refuses to hand the actor a new secret for t unless the
// actor's own credential holds every scope t grants: otherwise a token
// allowed only to manage tokens could regenerate a stronger one and use it.
//
// Only owners may hold an owner's secret: an admin could otherwise use an
// owner's regenerated token to do what only owners may.
func (s *Tokens) mayHoldSecretOf(ctx context.Context, a Actor, t *store.Token, p store.Policy) error {
	owner := a.User
	if t.UserID != a.User.ID {
		var err error
		owner, err = s.store.GetUser(ctx, t.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return conflict("", "token %q belongs to a deleted user and can no longer be regenerated", t.Name)
		}
		if err != nil {
			return fmt.Errorf("get token owner: %w", err)
		}
	}
	if err := AuthorizeTokenWrite(TokenWrite{Op: OpRegenerate, Actor: a, Owner: owner, Policy: p}); err != nil {
		return err
	}
	set, err := s.catalog.ParseSet(t.Scopes)
	if err != nil {
		// Scopes no longer in the catalog grant nothing at verification.
		return nil
	}
	if missing := a.Scopes.Missing(set); len(missing) > 0 {
		return forbidden("your credential does not hold %s, which token %q grants, so it cannot regenerate it; use a session or a token that holds it", strings.Join(missing, ", "), t.Name)
	}
	return nil
}

// regeneratedExpiry keeps the token's lifetime length unless a new expiry is
// asked for.
func regeneratedExpiry(t *store.Token, e Expiry, now time.Time, p store.Policy) (*time.Time, error) {
	if !e.isZero() {
		return resolveExpiry(e, now, p)
	}
	if t.ExpiresAt == nil {
		return resolveExpiry(Expiry{NoExpiry: p.AllowNoExpiry && p.MaxLifetime == 0}, now, p)
	}
	issued := t.CreatedAt
	if t.RegeneratedAt != nil {
		issued = *t.RegeneratedAt
	}
	life := t.ExpiresAt.Sub(issued)
	if life < minLifetime {
		life = minLifetime
	}
	if p.MaxLifetime > 0 && life > p.MaxLifetime {
		life = p.MaxLifetime
	}
	at := now.Add(life)
	return &at, nil
}

// Revoke ends a token for good. Revoking a revoked token changes nothing.
func (s *Tokens) Revoke(ctx context.Context, a Actor, id string) error {
	if err := a.requireTokens(); err != nil {
		return err
	}
	cur, err := s.visible(ctx, a, id)
	if err != nil {
		return err
	}
	owner := a.User
	if cur.UserID != a.User.ID {
		// Tokens of deleted users may still be revoked by admins.
		owner = &store.User{ID: cur.UserID}
	}
	if err := AuthorizeTokenWrite(TokenWrite{Op: OpRevoke, Actor: a, Owner: owner, Policy: s.policies.Current(ctx)}); err != nil {
		return err
	}
	return s.revoke(ctx, a, id, "token.revoke", nil)
}

// revoke is shared by user revocation, leak reports and cleanup.
func (s *Tokens) revoke(ctx context.Context, a Actor, id, action string, details map[string]any) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	var before store.Token
	var t *store.Token
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		already := false
		var err error
		t, err = s.store.UpdateToken(ctx, id, func(t *store.Token) error {
			before = *t
			if t.RevokedAt != nil {
				already = true
				return nil
			}
			t.RevokedAt, t.UpdatedAt = &now, now
			t.PrevDigest, t.PrevExpiresAt = nil, nil
			return nil
		})
		if err != nil || already {
			return err
		}
		if err := announceTokens(ctx, s.inval, &before, t); err != nil {
			return err
		}
		ev := map[string]any{"name": t.Name}
		for k, v := range details {
			ev[k] = v
		}
		return s.audit.add(ctx, a, action, "token", t.ID, ev)
	})
	if err != nil {
		return wrapStore("revoke token", err)
	}
	// The snapshot still names the previous secret of a grace period, which
	// the revoked row no longer does; both must leave the cache.
	s.inval.TokenChanged(&before)
	s.inval.TokenChanged(t)
	return nil
}

// parsedScopes is what t's stored scopes grant; scopes no longer in the
// catalog grant nothing.
func (s *Tokens) parsedScopes(t *store.Token) scope.Set {
	set, err := s.catalog.ParseSet(t.Scopes)
	if err != nil {
		return scope.Set{}
	}
	return set
}

// expiredRefusal explains that an expired token cannot be brought back.
func expiredRefusal(t *store.Token, p store.Policy) error {
	when := ""
	if e := EffectiveExpiry(t, p); e != nil {
		when = " on " + e.UTC().Format(time.RFC3339)
	}
	return conflict("", "token %q expired%s; an expired token cannot be restored: create a new token instead", t.Name, when)
}

// Usage returns a token's requests per day over the last days days.
func (s *Tokens) Usage(ctx context.Context, a Actor, id string, days int) ([]store.UsageDay, error) {
	if err := a.requireTokens(); err != nil {
		return nil, err
	}
	if _, err := s.visible(ctx, a, id); err != nil {
		return nil, err
	}
	if days <= 0 || days > store.UsageDaysKept {
		return nil, invalid("days", "days must be between 1 and %d", store.UsageDaysKept)
	}
	since := s.now().UTC().AddDate(0, 0, -(days - 1))
	return s.store.TokenUsage(ctx, id, since)
}

func cleanName(name string) (string, error) {
	// One spelling per name: "e" + U+0301 and the precomposed "é" read the
	// same, so names are kept composed (NFC) and a second spelling of a
	// live token's name is the duplicate it looks like.
	name = norm.NFC.String(strings.TrimSpace(name))
	switch {
	case name == "":
		return "", invalid("name", "name is required: give the token a name that says what it is for, like \"ci-deploy\"")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", invalid("name", "name is too long: at most %d characters", maxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", invalid("name", "name must not contain control characters")
	case strings.ContainsAny(name, "\u2028\u2029"):
		return "", invalid("name", "name must be one line: remove the line or paragraph separator (U+2028, U+2029)")
	case strings.IndexFunc(name, invisible) >= 0:
		return "", invalid("name", "name must not contain invisible or direction-changing characters (such as U+200B or U+202E): they make one name look like another")
	case strings.ContainsRune(name, utf8.RuneError):
		// JSON decoding turns invalid UTF-8 into U+FFFD; a name is text.
		return "", invalid("name", "name must be valid UTF-8 text")
	}
	return name, nil
}

func cleanDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if utf8.RuneCountInString(d) > maxDescriptionLen {
		return "", invalid("description", "description is too long: at most %d characters", maxDescriptionLen)
	}
	if strings.IndexFunc(d, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return "", invalid("description", "description must not contain control characters")
	}
	if strings.IndexFunc(d, bidiControl) >= 0 {
		return "", invalid("description", "description must not contain direction-changing characters (such as U+202E): they make text read other than it is")
	}
	return d, nil
}

// invisible reports whether r is a format character (Unicode Cf: zero
// width spaces, direction marks and overrides, the byte order mark, soft
// hyphen) other than the zero width joiner of emoji sequences.
func invisible(r rune) bool { return r != '\u200d' && unicode.Is(unicode.Cf, r) }

// bidiControl reports whether r changes the direction text is shown in
// (embeddings, overrides, isolates, marks).
func bidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' || ('\u202a' <= r && r <= '\u202e') || ('\u2066' <= r && r <= '\u2069')
}

func cleanAllowlist(in []string) ([]string, error) {
	if len(in) > maxAllowlist {
		return nil, invalid("ip_allowlist", "at most %d entries in ip_allowlist", maxAllowlist)
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked().String())
			continue
		}
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()).String())
			continue
		}
		return nil, invalid("ip_allowlist", "%q is not an IP address or CIDR range like 10.0.0.0/8", s)
	}
	return out, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wrapStore passes service errors from updaters through and maps store
// errors to kinds.
func wrapStore(op string, err error) error {
	var se *Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s: not found", op)
	case errors.Is(err, store.ErrConflict):
		return conflict("", "%s: conflicts with existing data", op)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
