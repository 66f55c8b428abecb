package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/service"
)

// FlowCookie is the name of the cookie that carries a sign-in's state,
// nonce and PKCE verifier between /auth/sso/{id} and its callback.
const FlowCookie = "latchkey_sso_flow"

// flowLifetime bounds how long a person may take at the provider.
const flowLifetime = 10 * time.Minute

// ErrUnknownProvider means no provider has the id in the URL.
var ErrUnknownProvider = errors.New("unknown identity provider")

// Error is a sign-in failure with a message a person can act on; Reason is
// a short code for the audit log.
type Error struct {
	Reason string
	Msg    string
	Err    error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func fail(reason, msg string, err error) *Error { return &Error{Reason: reason, Msg: msg, Err: err} }

// Providers are the configured OIDC providers.
type Providers struct {
	list   []*Provider
	client *http.Client
	now    func() time.Time
}

// Provider is one configured OIDC provider; discovery happens on first use
// and is retried until it succeeds, so a provider that is down at start
// does not stop Latchkey from starting.
type Provider struct {
	cfg config.SSOProvider

	mu  sync.Mutex
	op  *oidc.Provider
	ver *oidc.IDTokenVerifier
}

// Options tune Providers; zero values are fine.
type Options struct {
	HTTPClient *http.Client     // for discovery, JWKS and code redemption
	Now        func() time.Time // the clock ID tokens are checked against
}

// NewProviders builds the providers of the sso: section.
func NewProviders(cfgs []config.SSOProvider, opts Options) *Providers {
	ps := &Providers{client: opts.HTTPClient, now: opts.Now}
	if ps.client == nil {
		ps.client = &http.Client{Timeout: 15 * time.Second}
	}
	if ps.now == nil {
		ps.now = time.Now
	}
	for _, c := range cfgs {
		ps.list = append(ps.list, &Provider{cfg: c})
	}
	return ps
}

// List returns the providers' configurations, in config order.
func (ps *Providers) List() []config.SSOProvider {
	if ps == nil {
		return nil
	}
	out := make([]config.SSOProvider, 0, len(ps.list))
	for _, p := range ps.list {
		c := p.cfg
		c.ClientSecret = ""
		out = append(out, c)
	}
	return out
}

// RoleRules returns the role mapping of each provider, for the service.
func RoleRules(cfgs []config.SSOProvider) map[string]service.RoleRules {
	out := map[string]service.RoleRules{}
	for _, c := range cfgs {
		r := c.Roles
		out[c.ID] = service.RoleRules{Claim: r.Claim, Owner: r.Owner, Admin: r.Admin, Member: r.Member}
	}
	return out
}

func (ps *Providers) get(id string) (*Provider, error) {
	if ps != nil {
		for _, p := range ps.list {
			if p.cfg.ID == id {
				return p, nil
			}
		}
	}
	return nil, ErrUnknownProvider
}

func (ps *Providers) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, ps.client)
}

// discover fetches the provider's discovery document once.
func (p *Provider) discover(ctx context.Context, now func() time.Time) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, p.ver, nil
	}
	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return nil, nil, fail("discovery", fmt.Sprintf("the identity provider %s could not be reached or its discovery document is wrong; try again, and if it keeps failing tell an admin", p.cfg.Name), err)
	}
	p.op, p.ver = op, op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: now})
	return p.op, p.ver, nil
}

func (p *Provider) oauth(op *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: redirectURL, Scopes: p.cfg.Scopes,
	}
}

// flow is what the flow cookie carries.
type flow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x,omitempty"`
	Expires  int64  `json:"e"`
}

// Begin starts a sign-in at provider id: it returns the URL to send the
// browser to and the cookie that must come back with the callback.
func (ps *Providers) Begin(ctx context.Context, id, redirectURL, next string) (string, *http.Cookie, error) {
	p, err := ps.get(id)
	if err != nil {
		return "", nil, err
	}
	op, _, err := p.discover(ps.ctx(ctx), ps.now)
	if err != nil {
		return "", nil, err
	}
	f := flow{Provider: id, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Next: next,
		Expires: ps.now().Add(flowLifetime).Unix()}
	raw, _ := json.Marshal(f)
	c := &http.Cookie{
		Name: FlowCookie, Value: base64.RawURLEncoding.EncodeToString(raw), MaxAge: int(flowLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	u := p.oauth(op, redirectURL).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return u, c, nil
}

// Assertion is what a provider asserted about the person who signed in.
type Assertion struct {
	Provider string
	Subject  string
	Username string
	Email    string
	// EmailVerified: the provider said the address is verified
	// (email_verified true), or said nothing and is configured
	// trust_email. Email is "" otherwise.
	EmailVerified bool
	Claims        []string // values of the role claim
	Next          string   // where the person was going before signing in
}

// callbackParams are the query parameters of the provider's answer at the
// callback that Latchkey reads or could show.
var callbackParams = []string{"code", "state", "error", "error_description"}

// Finish completes a sign-in at the callback: r is the callback request and
// cookie the flow cookie's value.
func (ps *Providers) Finish(ctx context.Context, id string, r *http.Request, cookie, redirectURL string) (*Assertion, error) {
	p, err := ps.get(id)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	// The answer must belong to this browser's sign-in before anything in
	// it is believed or shown, an error included: otherwise any site could
	// link here with error=<any text> and have the login page say it.
	f, err := readFlow(cookie)
	if err != nil || f.Provider != id || ps.now().Unix() > f.Expires {
		return nil, fail("no_flow", "This sign-in was not started here or took too long. Start again from the login page.", err)
	}
	// A provider sends each of these once (RFC 6749 §4.1.2, §4.1.2.1).
	// One given twice is refused, never read first-wins: a proxy or WAF
	// that reads the other value would see another answer than the one
	// acted on (HTTP parameter pollution). The words are the console's
	// for a repeated parameter.
	for _, name := range callbackParams {
		if n := len(q[name]); n > 1 {
			return nil, fail("repeated_parameter", fmt.Sprintf("%s was given %d times in the address; an identity provider sends it once. Start again from the login page.", name, n), nil)
		}
	}
	if st := q.Get("state"); st == "" || subtle.ConstantTimeCompare([]byte(st), []byte(f.State)) != 1 {
		return nil, fail("bad_state", "The sign-in answer does not belong to this browser's sign-in (state mismatch). Start again from the login page.", nil)
	}
	if e := q.Get("error"); e != "" {
		return nil, fail("provider_error", fmt.Sprintf("%s refused the sign-in (%s). Try again, or ask an admin whether you may use Latchkey.", p.cfg.Name, errorCode(e)), nil)
	}
	code := q.Get("code")
	if code == "" {
		return nil, fail("no_code", "The identity provider sent no authorization code. Start again from the login page.", nil)
	}
	cctx := ps.ctx(ctx)
	op, ver, err := p.discover(cctx, ps.now)
	if err != nil {
		return nil, err
	}
	tok, err := p.oauth(op, redirectURL).Exchange(cctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, fail("code_exchange", "The identity provider did not accept the authorization code (it may have been used already or expired). Start again from the login page.", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, fail("no_id_token", "The identity provider sent no ID token; check that the openid scope is configured.", nil)
	}
	idt, err := ver.Verify(cctx, rawID)
	if err != nil {
		return nil, fail("bad_id_token", "The identity provider's ID token was refused (wrong issuer, audience, signature, or expired). Start again; if it keeps failing, tell an admin.", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, fail("bad_nonce", "The ID token does not belong to this sign-in (nonce mismatch). Start again from the login page.", nil)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fail("bad_claims", "The ID token's claims could not be read.", err)
	}
	// OIDC Core §3.1.3.7: a token for several audiences must say that it
	// was issued to Latchkey (azp), and an azp must be Latchkey's client id;
	// go-oidc checks only that aud contains it.
	if azp, _ := claims["azp"].(string); (azp != "" && azp != p.cfg.ClientID) || (azp == "" && len(idt.Audience) > 1) {
		return nil, fail("bad_id_token", "The identity provider's ID token was issued to another application (azp). Start again; if it keeps failing, tell an admin.", nil)
	}
	if p.missingClaims(claims) && op.UserInfoEndpoint() != "" {
		// Many providers keep profile, email and groups out of the ID token
		// when an access token is issued (OIDC Core §5.4): ask userinfo.
		info, err := op.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fail("userinfo", "The identity provider's userinfo endpoint did not answer; try again.", err)
		}
		if info.Subject != idt.Subject {
			return nil, fail("userinfo", "The identity provider's userinfo answer is about someone else; sign-in refused.", nil)
		}
		var extra map[string]any
		if err := info.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	return p.assert(idt, claims, f.Next)
}

// missingClaims reports whether the ID token lacks a claim Latchkey uses.
func (p *Provider) missingClaims(claims map[string]any) bool {
	name := p.cfg.UsernameClaim
	if name == "" {
		name = "preferred_username"
	}
	for _, c := range []string{name, "email", p.cfg.Roles.Claim} {
		if _, ok := claims[c]; c != "" && !ok {
			return true
		}
	}
	return false
}

// assert reads the claims Latchkey uses and applies the allowed domains.
func (p *Provider) assert(idt *oidc.IDToken, claims map[string]any, next string) (*Assertion, error) {
	a := &Assertion{Provider: p.cfg.ID, Subject: idt.Subject, Next: next}
	a.Email, _ = claims["email"].(string)
	// The provider says the address is not verified (unverified), says it
	// is (verified), or says nothing: then the address is taken as
	// verified only when the provider is configured trust_email, since
	// some (Entra ID) send an address the person may edit and never say
	// whether it was verified.
	unverified := emailUnverified(claims)
	verified := !unverified && (emailVerified(claims) || p.cfg.TrustEmail)
	nameClaim := p.cfg.UsernameClaim
	if nameClaim == "" {
		nameClaim = "preferred_username"
	}
	a.Username, _ = claims[nameClaim].(string)
	fromEmail := nameClaim == "email"
	if a.Username == "" && p.cfg.UsernameClaim == "" {
		a.Username, fromEmail = a.Email, true
	}
	// In NFC, as SCIM keeps a provisioned person's userName: a provider
	// may send one form there and the other here.
	a.Username = service.NFC(a.Username)
	if a.Subject == "" || a.Username == "" {
		return nil, fail("no_username", fmt.Sprintf("The identity provider sent no %s claim to name you by; an admin must set username_claim for %s.", nameClaim, p.cfg.Name), nil)
	}
	if fromEmail && unverified {
		// Anyone may type any address at some providers: an address the
		// provider has not verified never names an account here.
		return nil, fail("email_unverified", fmt.Sprintf("Your user name would come from your email address, which %s has not verified. Verify it at %s, then sign in again.", p.cfg.Name, p.cfg.Name), nil)
	}
	if fromEmail && !verified {
		return nil, fail("email_unverified", fmt.Sprintf("Your user name would come from your email address, and %s did not say it has verified it (it sent no email_verified claim). Ask an admin: they can make %s send email_verified true for verified addresses, or, if %s never issues an address it has not verified, set trust_email: true for it in Latchkey's configuration.", p.cfg.Name, p.cfg.Name, p.cfg.Name), nil)
	}
	if len(p.cfg.AllowedDomains) > 0 {
		domain := ""
		if at := strings.LastIndexByte(a.Email, '@'); at >= 0 {
			domain = asciiLower(a.Email[at+1:])
		}
		if domain == "" || unverified || !slices.Contains(p.cfg.AllowedDomains, domain) {
			return nil, fail("domain", "Your email address is not in a domain allowed to use Latchkey (or is not verified).", nil)
		}
		if !verified {
			return nil, fail("domain_unverified", fmt.Sprintf("Latchkey lets in only verified addresses of its allowed domains, and %s did not say your address is verified (it sent no email_verified claim). Ask an admin: they can make %s send email_verified true for verified addresses, or, if %s never issues an address it has not verified, set trust_email: true for it in Latchkey's configuration.", p.cfg.Name, p.cfg.Name, p.cfg.Name), nil)
		}
	}
	if !verified {
		// An address the provider has not verified (or not said it has,
		// without trust_email) is not used: it would become where token
		// expiry reminders and leak notices go, and replace a verified one.
		a.Email = ""
	}
	a.EmailVerified = a.Email != ""
	if c := p.cfg.Roles.Claim; c != "" {
		if _, sent := claims[c]; !sent && byReference(claims, c) {
			// The provider did not say "in no group": it left the values
			// out (Entra ID does for people in more than 200 groups). Read
			// as none, the mapping would suspend the person and stop every
			// token they hold; nothing is changed instead.
			return nil, fail("role_claim_by_reference", fmt.Sprintf("%s sent your %s claim only by reference (as Entra ID does for people in very many groups), so Latchkey cannot tell your role; nothing was changed on your account. An admin must make %s put %s in the ID token (in Entra ID: emit only the groups assigned to the application), then sign in again.", p.cfg.Name, c, p.cfg.Name, c), nil)
		}
		a.Claims = claimValues(claims[c])
	}
	return a, nil
}

// byReference reports whether claim name is a distributed claim (OIDC
// Core §5.6.2): named in _claim_names, its values kept elsewhere.
func byReference(claims map[string]any, name string) bool {
	names, _ := claims["_claim_names"].(map[string]any)
	_, ok := names[name]
	return ok
}

// emailUnverified reports whether the provider says the email address is
// not verified. Providers send email_verified as a boolean, or (AWS
// Cognito, some SAML bridges) as the string "true" or "false"; any other
// value is not taken as a verification. An absent claim is no statement.
func emailUnverified(claims map[string]any) bool {
	v, ok := claims["email_verified"]
	if !ok || v == nil {
		return false
	}
	switch x := v.(type) {
	case bool:
		return !x
	case string:
		return !strings.EqualFold(strings.TrimSpace(x), "true")
	}
	return true
}

// emailVerified reports whether the provider says the address is verified.
func emailVerified(claims map[string]any) bool {
	switch x := claims["email_verified"].(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(strings.TrimSpace(x), "true")
	}
	return false
}

// asciiLower lower-cases ASCII letters only: strings.ToLower would turn
// the Kelvin sign U+212A into "k", so "\u212Aorp.com" would pass an
// allowed domain korp.com.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// claimValues reads a claim that is a string or a list of strings.
func claimValues(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func readFlow(v string) (*flow, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("decode flow cookie: %w", err)
	}
	var f flow
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("decode flow cookie: %w", err)
	}
	return &f, nil
}

func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// errorCode shows a provider's error code (RFC 6749 §4.1.2.1: a short
// token such as access_denied), never free text.
func errorCode(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return "error"
		}
	}
	return printable(s)
}

// printable keeps at most 64 plain ASCII characters of a provider's text.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}
