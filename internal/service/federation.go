package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/federation"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// DefaultFederatedLifetime is how long a fed token lives when its policy
// sets no max_lifetime.
const DefaultFederatedLifetime = 15 * time.Minute

// maxFederatedLifetime bounds a policy's max_lifetime: fed tokens are for
// one run.
const maxFederatedLifetime = 24 * time.Hour

// Federation manages workload identity federation trust policies and issues
// fed tokens for OIDC tokens that match one (see internal/federation).
type Federation struct {
	store    store.Store
	catalog  *scope.Catalog
	policies *Policies
	audit    *Audit
	inval    Invalidator
	prefix   string
	now      func() time.Time
}

// FederationPolicyInput creates a policy, or changes one where a PATCH sets
// the field (nil = unchanged).
type FederationPolicyInput struct {
	Name           *string
	Description    *string
	Issuer         *string
	Audience       *string
	Conditions     map[string]string // nil = unchanged on update
	ServiceAccount *string           // user id or user name
	Scopes         []string          // nil = unchanged on update
	MaxLifetime    *string           // Go duration, "" = the default
	Disabled       *bool
}

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CreatePolicy adds a trust policy (admins only).
func (f *Federation) CreatePolicy(ctx context.Context, a Actor, in FederationPolicyInput) (*store.FederationPolicy, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	if err := a.refuseFederated("create or change a trust policy"); err != nil {
		return nil, err // a policy is a lasting way back in: it mints fed tokens for ever
	}
	for field, v := range map[string]*string{"name": in.Name, "issuer": in.Issuer, "audience": in.Audience, "service_account": in.ServiceAccount} {
		if v == nil || *v == "" {
			return nil, invalid(field, "%s is required", field)
		}
	}
	if in.Conditions == nil {
		return nil, invalid("conditions", "conditions are required: at least one claim condition (e.g. {\"repository\":\"acme/web\"}), or every token of the issuer with the audience would match")
	}
	if in.Scopes == nil {
		return nil, invalid("scopes", "scopes are required: what the issued tokens may do, e.g. [\"repo:read\"]")
	}
	now := f.now().UTC()
	p := &store.FederationPolicy{ID: uuid.Must(uuid.NewV7()).String(), CreatedAt: now, UpdatedAt: now}
	if err := f.apply(ctx, a, p, in); err != nil {
		return nil, err
	}
	err := f.audit.inTx(ctx, func(ctx context.Context) error {
		if err := f.store.CreateFederationPolicy(ctx, p); err != nil {
			return err
		}
		return f.audit.add(ctx, a, "federation.policy.create", "federation_policy", p.ID, policyDetails(p))
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, conflict("name", "a federation policy named %q exists; choose another name", p.Name)
		}
		return nil, fmt.Errorf("create federation policy: %w", err)
	}
	return p, nil
}

// apply validates in and writes its set fields into p.
func (f *Federation) apply(ctx context.Context, a Actor, p *store.FederationPolicy, in FederationPolicyInput) error {
	if in.Name != nil {
		if !policyNameRE.MatchString(*in.Name) {
			return invalid("name", "name %q is invalid: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", printable(*in.Name, 80))
		}
		p.Name = *in.Name
	}
	if in.Description != nil {
		if len(*in.Description) > maxDescriptionLen {
			return invalid("description", "description is at most %d characters", maxDescriptionLen)
		}
		p.Description = printable(*in.Description, maxDescriptionLen)
	}
	if in.Issuer != nil {
		if err := federation.CheckIssuerURL(*in.Issuer); err != nil {
			return invalid("issuer", "issuer %v", err)
		}
		p.Issuer = *in.Issuer
	}
	if in.Audience != nil {
		if *in.Audience == "" || len(*in.Audience) > 256 {
			return invalid("audience", "audience must be 1 to 256 characters: the aud the CI system puts in its tokens for Latchkey")
		}
		p.Audience = *in.Audience
	}
	if in.Conditions != nil {
		if len(in.Conditions) == 0 {
			return invalid("conditions", "at least one claim condition is required (e.g. {\"repository\":\"acme/web\"}); without one every token of the issuer with the audience would match")
		}
		if err := federation.ValidateConditions(in.Conditions); err != nil {
			return invalid("conditions", "%v", err)
		}
		p.Conditions = in.Conditions
	}
	if in.MaxLifetime != nil {
		d := time.Duration(0)
		if *in.MaxLifetime != "" {
			var err error
			if d, err = time.ParseDuration(*in.MaxLifetime); err != nil || d <= 0 || d > maxFederatedLifetime {
				return invalid("max_lifetime", "max_lifetime must be a duration between 1s and 24h such as \"15m\"; got %q", printable(*in.MaxLifetime, 40))
			}
		}
		p.MaxLifetime = d
	}
	if in.Disabled != nil {
		p.Disabled = *in.Disabled
	}
	if in.ServiceAccount != nil {
		u, err := lookupUser(ctx, f.store, *in.ServiceAccount)
		if err != nil {
			return &Error{Kind: ErrInvalid, Field: "service_account", Msg: err.Error()}
		}
		if u.Kind != store.KindService {
			return invalid("service_account", "%s is a person; federated tokens act as a service account: create one with kind \"service\"", u.Username)
		}
		p.ServiceAccountID = u.ID
	}
	if in.Scopes != nil || in.ServiceAccount != nil {
		scopes := p.Scopes
		if in.Scopes != nil {
			scopes = in.Scopes
		}
		if len(scopes) == 0 || len(scopes) > maxScopes {
			return invalid("scopes", "give 1 to %d scopes", maxScopes)
		}
		set, err := f.catalog.ParseSet(scopes)
		if err != nil {
			return invalid("scopes", "%v", err)
		}
		sa, err := f.store.GetUser(ctx, p.ServiceAccountID)
		if err != nil {
			return invalid("service_account", "the service account no longer exists; name another")
		}
		if missing := f.catalog.ForRole(string(sa.Role)).Missing(set); len(missing) > 0 {
			return forbidden("the %s role of %s does not allow %s; choose scopes within the service account's role", sa.Role, sa.Username, strings.Join(missing, ", "))
		}
		if missing := a.Scopes.Missing(set); len(missing) > 0 {
			return forbidden("your credential does not hold %s, so it cannot grant it", strings.Join(missing, ", "))
		}
		p.Scopes = set.Strings()
	}
	if policyWidens(in) && (a.User == nil || a.User.Role != store.RoleOwner) {
		sa, err := f.store.GetUser(ctx, p.ServiceAccountID)
		if err != nil {
			return invalid("service_account", "the service account no longer exists; name another")
		}
		if sa.Role == store.RoleOwner {
			// Its tokens act as that owner: the rule of tokens on behalf
			// of an owner.
			return forbidden("only owners may create or widen a federation policy whose service account (%s) is an owner: its tokens act as that owner; an admin may disable or delete it", sa.Username)
		}
	}
	return nil
}

// policyWidens reports whether in may let more tokens be issued, or
// broader ones, than before: any change but a name, a description or
// disabling.
func policyWidens(in FederationPolicyInput) bool {
	return in.Issuer != nil || in.Audience != nil || in.Conditions != nil || in.ServiceAccount != nil ||
		in.Scopes != nil || in.MaxLifetime != nil || (in.Disabled != nil && !*in.Disabled)
}

func policyDetails(p *store.FederationPolicy) map[string]any {
	return map[string]any{
		"name": p.Name, "issuer": p.Issuer, "audience": p.Audience, "conditions": p.Conditions,
		"service_account_id": p.ServiceAccountID, "scopes": p.Scopes, "max_lifetime": FormatDuration(p.MaxLifetime),
		"disabled": p.Disabled,
	}
}

// GetPolicy returns one policy (admins only).
func (f *Federation) GetPolicy(ctx context.Context, a Actor, id string) (*store.FederationPolicy, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	return f.get(ctx, id)
}

func (f *Federation) get(ctx context.Context, id string) (*store.FederationPolicy, error) {
	if uuid.Validate(id) != nil {
		return nil, notFound("no federation policy with id %q; list policies to find its id", printable(id, 80))
	}
	p, err := f.store.GetFederationPolicy(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no federation policy with id %q; list policies to find its id", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get federation policy: %w", err)
	}
	return p, nil
}

// ListPolicies returns a page of policies and the next cursor ("" at the end).
func (f *Federation) ListPolicies(ctx context.Context, a Actor, cursor string, limit int) ([]*store.FederationPolicy, string, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, "", err
	}
	n, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	after := ""
	if cursor != "" {
		if after, err = decodeCursor(cursor); err != nil || uuid.Validate(after) != nil {
			return nil, "", invalid("cursor", "cursor %q is not valid; pass the next_cursor value of the previous page unchanged", printable(cursor, 80))
		}
	}
	ps, err := f.store.ListFederationPolicies(ctx, store.FederationPolicyFilter{Cursor: after, Limit: n + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list federation policies: %w", err)
	}
	next := ""
	if len(ps) > n {
		ps = ps[:n]
		next = encodeCursor(ps[n-1].ID)
	}
	return ps, next, nil
}

// UpdatePolicy changes the fields in set. Disabling a policy revokes every
// live token it issued.
func (f *Federation) UpdatePolicy(ctx context.Context, a Actor, id string, in FederationPolicyInput) (*store.FederationPolicy, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	if err := a.refuseFederated("create or change a trust policy"); err != nil {
		return nil, err // a policy is a lasting way back in: it mints fed tokens for ever
	}
	if _, err := f.get(ctx, id); err != nil {
		return nil, err
	}
	var (
		p       *store.FederationPolicy
		revoked []*store.Token
	)
	err := f.audit.inTx(ctx, func(ctx context.Context) error {
		var wasEnabled bool
		var err error
		revoked = nil
		p, err = f.store.UpdateFederationPolicy(ctx, id, func(p *store.FederationPolicy) error {
			wasEnabled = !p.Disabled
			if err := f.apply(ctx, a, p, in); err != nil {
				return err
			}
			p.UpdatedAt = f.now().UTC()
			return nil
		})
		if err != nil {
			return err
		}
		if err := f.audit.add(ctx, a, "federation.policy.update", "federation_policy", p.ID, policyDetails(p)); err != nil {
			return err
		}
		if wasEnabled && p.Disabled {
			revoked, err = f.revokeIssued(ctx, a, p, "policy disabled")
		}
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, conflict("name", "a federation policy named %q exists; choose another name", *in.Name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no federation policy with id %q", id)
	}
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("update federation policy: %w", err)
	}
	f.forget(revoked)
	if p.Disabled {
		f.sweepAfter(ctx, a, p, "policy disabled")
	}
	return p, nil
}

// DeletePolicy deletes a policy and revokes every live token it issued, on
// every replica (through the invalidator).
func (f *Federation) DeletePolicy(ctx context.Context, a Actor, id string) error {
	if err := a.requireAdmin(); err != nil {
		return err
	}
	p, err := f.get(ctx, id)
	if err != nil {
		return err
	}
	var revoked []*store.Token
	err = f.audit.inTx(ctx, func(ctx context.Context) error {
		if err := f.store.DeleteFederationPolicy(ctx, id); err != nil {
			return err
		}
		if err := f.audit.add(ctx, a, "federation.policy.delete", "federation_policy", p.ID, policyDetails(p)); err != nil {
			return err
		}
		var err error
		revoked, err = f.revokeIssued(ctx, a, p, "policy deleted")
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no federation policy with id %q", id)
		}
		return fmt.Errorf("delete federation policy: %w", err)
	}
	f.forget(revoked)
	f.sweepAfter(ctx, a, p, "policy deleted")
	return nil
}

// sweepAfter revokes, once a change that disabled or deleted p is
// committed, the tokens that exchanges racing it created meanwhile. Such
// an exchange wrote its token, then read p (recheckPolicy) before the
// commit and found it enabled; its token may have been written after the
// change's own revocation ran, so it is revoked here, with the change now
// visible to every later exchange's check. A failure is logged: the
// change and its events are stored, and a retry would not sweep again.
func (f *Federation) sweepAfter(ctx context.Context, a Actor, p *store.FederationPolicy, reason string) {
	if err := f.sweep(context.WithoutCancel(ctx), a, p, reason); err != nil {
		f.audit.logger.Error("revoke the tokens of a disabled or deleted federation policy that exchanges created meanwhile",
			"policy_id", p.ID, "err", err)
	}
}

// sweep is revokeIssued in a transaction of its own, then forget.
func (f *Federation) sweep(ctx context.Context, a Actor, p *store.FederationPolicy, reason string) error {
	var ts []*store.Token
	err := f.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		ts, err = f.revokeIssued(ctx, a, p, reason)
		return err
	})
	if err != nil {
		return err
	}
	f.forget(ts)
	return nil
}

// revokeIssued revokes every live token p issued, each with its audit
// event, in the transaction of ctx, and returns them for forget once it
// is committed.
func (f *Federation) revokeIssued(ctx context.Context, a Actor, p *store.FederationPolicy, reason string) ([]*store.Token, error) {
	ts, err := f.store.RevokeFederatedTokens(ctx, p.ID, f.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("revoke tokens of federation policy: %w", err)
	}
	if err := announceTokens(ctx, f.inval, ts...); err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := f.audit.add(ctx, a, "token.revoke", "token", t.ID, map[string]any{"reason": reason, "policy": p.Name, "policy_id": p.ID}); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// forget drops revoked tokens from every node's verification cache.
func (f *Federation) forget(ts []*store.Token) {
	for _, t := range ts {
		f.inval.TokenChanged(t)
	}
}

// PoliciesFor returns the enabled policies that trust issuer.
func (f *Federation) PoliciesFor(ctx context.Context, issuer string) ([]*store.FederationPolicy, error) {
	ps, err := f.store.ListFederationPolicies(ctx, store.FederationPolicyFilter{Issuer: issuer, Limit: store.MaxPageLimit})
	if err != nil {
		return nil, fmt.Errorf("list federation policies: %w", err)
	}
	out := ps[:0]
	for _, p := range ps {
		if !p.Disabled {
			out = append(out, p)
		}
	}
	return out, nil
}

// ExchangeInput is what the caller of a federated exchange asked for.
type ExchangeInput struct {
	Policy string   // policy name; needed only when several match
	Scopes []string // narrows the policy's scopes; nil = all of them
	IP     string
	Agent  string
}

// FederatedToken is an issued fed token, its secret and its policy.
type FederatedToken struct {
	IssuedToken
	Policy *store.FederationPolicy
}

// Exchange issues a fed token for a verified OIDC token, given the enabled
// policies of its issuer. Refusals are *federation.Error.
func (f *Federation) Exchange(ctx context.Context, t *federation.Token, policies []*store.FederationPolicy, in ExchangeInput) (*FederatedToken, error) {
	p, ferr := choosePolicy(t, policies, in.Policy)
	if ferr != nil {
		return nil, ferr
	}
	set, err := f.catalog.ParseSet(p.Scopes)
	if err != nil {
		return nil, fmt.Errorf("policy %s scopes: %w", p.Name, err)
	}
	if in.Scopes != nil {
		want, err := f.catalog.ParseSet(in.Scopes)
		if err != nil {
			return nil, &federation.Error{Code: federation.CodeInvalidScope, Check: "scope", Msg: err.Error()}
		}
		if missing := set.Missing(want); len(missing) > 0 {
			return nil, &federation.Error{Code: federation.CodeInvalidScope, Check: "scope", Msg: fmt.Sprintf(
				"policy %q does not grant %s; ask for scopes within %s", p.Name, strings.Join(missing, ", "), strings.Join(set.Strings(), " "))}
		}
		set = want
	}
	sa, err := f.store.GetUser(ctx, p.ServiceAccountID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sa.Suspended) {
		return nil, &federation.Error{Code: federation.CodeInvalidGrant, Check: "service_account",
			Msg: fmt.Sprintf("the service account of policy %q is suspended or deleted; an admin must fix the policy", p.Name)}
	}
	if err != nil {
		return nil, fmt.Errorf("get service account: %w", err)
	}
	if t.ID == "" {
		return nil, &federation.Error{Code: federation.CodeInvalidGrant, Check: "jti", Msg: "the JWT has no jti claim; only tokens with a unique id can be protected against replay"}
	}
	first, err := f.store.ClaimFederationJTI(ctx, t.Issuer, t.ID, t.Expiry.Add(2*time.Minute))
	if err != nil {
		return nil, fmt.Errorf("claim jti: %w", err)
	}
	if !first {
		return nil, &federation.Error{Code: federation.CodeInvalidGrant, Check: "jti",
			Msg: "this JWT (its jti) was already exchanged; each CI token can be exchanged once: request a fresh one"}
	}
	now := f.now().UTC().Truncate(time.Microsecond)
	life := p.MaxLifetime
	if life <= 0 {
		life = DefaultFederatedLifetime
	}
	if tp := f.policies.Current(ctx); tp.MaxLifetime > 0 && tp.MaxLifetime < life {
		life = tp.MaxLifetime
	}
	exp := now.Add(life)
	secret, err := token.Generate(f.prefix, token.Federated)
	if err != nil {
		return nil, fmt.Errorf("generate token: %w", err)
	}
	digest := token.Hash(secret)
	claims := federation.MatchedClaims(p, t)
	id := newID()
	tok := &store.Token{
		ID: id, UserID: sa.ID, Kind: store.TokenFederated, Name: "fed:" + p.Name + ":" + id,
		Description: "issued by federation policy " + p.Name + " to " + printable(t.Subject, 200),
		Scopes:      set.Strings(), Digest: digest[:], Hint: token.Hint(secret),
		CreatedAt: now, UpdatedAt: now, ExpiresAt: &exp,
		FederationPolicyID: p.ID, FederationClaims: claims,
	}
	e := f.audit.event(Actor{User: sa, IP: in.IP, Agent: in.Agent}, "token.federate", "token", tok.ID, map[string]any{
		"policy": p.Name, "policy_id": p.ID, "issuer": t.Issuer, "jti": printable(t.ID, 200), "claims": claims,
		"scopes": tok.Scopes, "expires_at": exp.Format(time.RFC3339),
	})
	if err := f.store.CreateTokenWithAudit(ctx, tok, e); err != nil {
		return nil, fmt.Errorf("create fed token: %w", err)
	}
	if err := f.recheckPolicy(ctx, Actor{User: sa, IP: in.IP, Agent: in.Agent}, p); err != nil {
		return nil, err
	}
	return &FederatedToken{IssuedToken: IssuedToken{Token: tok, Secret: secret}, Policy: p}, nil
}

// recheckPolicy reads p again once a token of it exists. An admin who
// disables or deletes p while an exchange is under way (say, to stop a
// compromised CI job that keeps exchanging) first changes the policy, then
// revokes its tokens; an exchange that read p before the change may create
// its token after that revocation. Read after the token is written, the
// policy is then seen disabled or gone, and its tokens, this one included,
// are revoked here. Read before the change, the token already existed when
// the admin's revocation ran, and that revoked it.
func (f *Federation) recheckPolicy(ctx context.Context, a Actor, p *store.FederationPolicy) error {
	ctx = context.WithoutCancel(ctx) // the token exists: finish, even if the caller left
	cur, err := f.store.GetFederationPolicy(ctx, p.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("get federation policy: %w", err)
	}
	if err == nil && !cur.Disabled {
		return nil
	}
	if err := f.sweep(ctx, a, p, "policy disabled or deleted during an exchange"); err != nil {
		return err
	}
	return &federation.Error{Code: federation.CodeInvalidGrant, Check: "policy",
		Msg: fmt.Sprintf("federation policy %q was disabled or deleted during the exchange", p.Name)}
}

// choosePolicy picks the one policy t matches: the named one, or the only
// one. When the caller named a policy it says which of that policy's
// checks failed; otherwise it names no policy (the error's Detail, for
// the log, gives every policy's reason).
func choosePolicy(t *federation.Token, policies []*store.FederationPolicy, name string) (*store.FederationPolicy, *federation.Error) {
	if name != "" {
		for _, p := range policies {
			if strings.EqualFold(p.Name, name) {
				if err := federation.Match(p, t); err != nil {
					return nil, err
				}
				return p, nil
			}
		}
		return nil, &federation.Error{Code: federation.CodeInvalidGrant, Check: "policy",
			Msg: fmt.Sprintf("no enabled federation policy named %q trusts issuer %s", printable(name, 80), t.Issuer)}
	}
	var (
		matched []*store.FederationPolicy
		reasons []string
	)
	for _, p := range policies {
		if err := federation.Match(p, t); err != nil {
			reasons = append(reasons, err.Logged())
			continue
		}
		matched = append(matched, p)
	}
	switch {
	case len(matched) == 1:
		return matched[0], nil
	case len(matched) > 1:
		// The token satisfies each of them: naming them tells the caller
		// nothing its token does not already open.
		names := make([]string, len(matched))
		for i, p := range matched {
			names[i] = p.Name
		}
		return nil, &federation.Error{Code: federation.CodeInvalidRequest, Check: "policy",
			Msg: fmt.Sprintf("the token matches several federation policies (%s); send policy=<name> to choose one", strings.Join(names, ", "))}
	case len(policies) == 0:
		return nil, &federation.Error{Code: federation.CodeInvalidGrant, Check: "issuer", Msg: "no enabled federation policy trusts issuer " + t.Issuer}
	}
	// Anyone who can mint a token of the issuer gets this answer: it names
	// no policy and none of their checks. The log line has them all.
	return nil, &federation.Error{Code: federation.CodeInvalidGrant, Check: "policy",
		Msg: "the token's issuer is trusted but no enabled policy matches its audience and claims; " +
			"if you know the policy meant for this workload, send policy=<name> to learn which of its checks fails",
		Detail: "no federation policy matches the token: " + strings.Join(reasons, "; ")}
}
