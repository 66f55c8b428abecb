package sts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// Device-flow names fixed by RFC 8628 and by Latchkey's CLI.
const (
	DeviceAuthorizationPath = "/oauth2/device_authorization"
	GrantDeviceCode         = "urn:ietf:params:oauth:grant-type:device_code"
	// CLIClientID is the one public client allowed to use the device flow.
	CLIClientID = "latchkey-cli"
	// DevicePagePath is the console page where a person enters the code.
	DevicePagePath = "/device"
)

// userCodeAlphabet has no vowels (no words) and no look-alike characters,
// as RFC 8628 §6.1 suggests.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// DeviceStore is the storage the device flow needs.
type DeviceStore interface {
	CreateDeviceCode(ctx context.Context, d *store.DeviceCode) error
	GetDeviceCodeByDigest(ctx context.Context, digest []byte) (*store.DeviceCode, error)
	GetDeviceCodeByUserCode(ctx context.Context, digest []byte) (*store.DeviceCode, error)
	UpdateDeviceCode(ctx context.Context, id string, fn func(*store.DeviceCode) error) (*store.DeviceCode, error)
	GetUser(ctx context.Context, id string) (*store.User, error)
}

// SessionIssuer opens a login session for a user.
type SessionIssuer interface {
	Issue(ctx context.Context, a service.Actor) (string, *store.Session, error)
}

// Device serves the OAuth 2.0 device authorization grant (RFC 8628) for
// `latchkey login --web`: the CLI asks for a code, the person approves it
// on the console's /device page, and the CLI's polling of /oauth2/token
// then gets a session token.
type Device struct {
	Store    DeviceStore
	Sessions SessionIssuer
	Audit    Auditor
	// Issuer returns the public base URL the verification URI is built on.
	Issuer   func() string
	Lifetime time.Duration // of a code; default 10m
	Interval time.Duration // the minimum polling interval; default 5s
	// AuthorizationBurst device codes may be requested at once from one
	// client address, and one more every AuthorizationEvery; defaults 10
	// and 30s. Anyone may ask for a code, so without this one address could
	// fill the database with them.
	AuthorizationBurst int
	AuthorizationEvery time.Duration
	Now                func() time.Time
	Logger             *slog.Logger
	// Outage, when set, is told about every storage failure answered 503
	// (readiness reports a full disk or a database that accepts no writes
	// from it).
	Outage func(error)

	budgetOnce sync.Once
	budget     *addressBudget
	probes     probeRetries // golang.org/x/oauth2's second try of a poll (pollrate.go)
}

// storageError is serverErrorFor(err): 503 saying how the storage failed
// (told to Outage), else 500.
func (d *Device) storageError(err error) *oauthError {
	o := serverErrorFor(err)
	if o.status == http.StatusServiceUnavailable && d.Outage != nil {
		d.Outage(err)
	}
	return o
}

// authorizations is the per-address budget of device codes.
func (d *Device) authorizations() *addressBudget {
	d.budgetOnce.Do(func() {
		d.budget = &addressBudget{burst: d.AuthorizationBurst, every: d.AuthorizationEvery}
		if d.budget.burst <= 0 {
			d.budget.burst = 10
		}
		if d.budget.every <= 0 {
			d.budget.every = 30 * time.Second
		}
	})
	return d.budget
}

func (d *Device) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Device) lifetime() time.Duration {
	if d.Lifetime > 0 {
		return d.Lifetime
	}
	return 10 * time.Minute
}

func (d *Device) interval() time.Duration {
	if d.Interval > 0 {
		return d.Interval
	}
	return 5 * time.Second
}

func (d *Device) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Mount adds the device authorization endpoint to mux.
func (d *Device) Mount(mux *http.ServeMux) {
	mux.HandleFunc(DeviceAuthorizationPath, d.serveAuthorization)
}

// Intercept answers token requests with the device_code grant and passes
// every other grant to next. A nil Device passes everything on.
func (d *Device) Intercept(next http.HandlerFunc) http.HandlerFunc {
	if d == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && isFormBody(r.Header.Get("Content-Type")) {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				writeOAuthError(w, r, formError(err))
				return
			}
			if r.PostForm.Get("grant_type") == GrantDeviceCode {
				d.serveToken(w, r)
				return
			}
		}
		next(w, r)
	}
}

// deviceAuthorization is the RFC 8628 §3.2 answer.
type deviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

func (d *Device) serveAuthorization(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "use POST with a form-encoded body: client_id=" + CLIClientID})
		return
	}
	if !isFormBody(r.Header.Get("Content-Type")) {
		writeOAuthError(w, r, invalidRequest("send the body as application/x-www-form-urlencoded: client_id="+CLIClientID))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, r, formError(err))
		return
	}
	// RFC 6749 §3.1: a parameter is sent once. Reading only the first of
	// two would let "scope=&scope=repo" pass the scope refusal below.
	for _, name := range []string{"client_id", "scope"} {
		if len(r.PostForm[name]) > 1 {
			writeOAuthError(w, r, invalidRequest("parameter "+name+" is repeated; send it once"))
			return
		}
	}
	if id := r.PostForm.Get("client_id"); id != CLIClientID {
		writeOAuthError(w, r, &oauthError{http.StatusUnauthorized, "invalid_client", "unknown client_id " + printableID(id) + "; the device flow serves client_id=" + CLIClientID})
		return
	}
	if sc := strings.TrimSpace(r.PostForm.Get("scope")); sc != "" {
		// Not silently ignored: the grant is a login session, which holds
		// every right of the person who approves it.
		writeOAuthError(w, r, &oauthError{http.StatusBadRequest, "invalid_scope",
			"the device flow signs the CLI in with a session of the person who approves it, which cannot be narrowed; omit scope, and create a token with narrower scopes once signed in"})
		return
	}
	now := d.now().UTC()
	if wait, ok := d.authorizations().take(auth.ClientOf(r).IP, now); !ok {
		secs := retryAfterSeconds(wait)
		w.Header().Set("Retry-After", secs)
		writeOAuthError(w, r, &oauthError{http.StatusTooManyRequests, codeRateLimited,
			"too many device codes requested from your address; wait " + secs + " seconds and run latchkey login --web again"})
		return
	}
	deviceCode, userCode := randomString(32), newUserCode()
	// Who asked is kept for the approval page: the address is the request
	// edge's (forwarding headers count only from a trusted proxy), the same
	// one the budget above was charged to.
	client := auth.ClientOf(r)
	dc := &store.DeviceCode{
		ID: newDeviceID(), DeviceDigest: digestOf(deviceCode), UserDigest: digestOf(normalizeUserCode(userCode)),
		ClientID: CLIClientID, Status: store.DevicePending, CreatedAt: now, ExpiresAt: now.Add(d.lifetime()), Interval: d.interval(),
		RequesterIP: client.IP, RequesterAgent: boundAgent(client.Agent),
	}
	if err := d.Store.CreateDeviceCode(r.Context(), dc); err != nil {
		d.logger().ErrorContext(r.Context(), "create device code", "err", err)
		writeOAuthError(w, r, d.storageError(err))
		return
	}
	uri := d.Issuer() + DevicePagePath
	writeJSON(w, http.StatusOK, deviceAuthorization{
		DeviceCode: deviceCode, UserCode: userCode, VerificationURI: uri,
		VerificationURIComplete: uri + "?user_code=" + userCode,
		ExpiresIn:               int64(d.lifetime() / time.Second), Interval: int64(d.interval() / time.Second),
	})
}

// sessionResponse is the token answer of the device grant.
type sessionResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

var errDeviceState = errors.New("device code state changed")

func (d *Device) serveToken(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	for _, name := range []string{"grant_type", "device_code", "client_id"} {
		if len(f[name]) > 1 {
			writeOAuthError(w, r, invalidRequest("parameter "+name+" is repeated; send it once"))
			return
		}
	}
	if f.Get("client_id") != CLIClientID {
		writeOAuthError(w, r, &oauthError{http.StatusUnauthorized, "invalid_client", "the device_code grant needs client_id=" + CLIClientID})
		return
	}
	code := f.Get("device_code")
	if code == "" {
		writeOAuthError(w, r, invalidRequest("device_code is required: the device_code value from "+DeviceAuthorizationPath))
		return
	}
	ctx := r.Context()
	dc, err := d.Store.GetDeviceCodeByDigest(ctx, digestOf(code))
	if errors.Is(err, store.ErrNotFound) {
		writeOAuthError(w, r, &oauthError{http.StatusBadRequest, "invalid_grant", "unknown device_code; start again with " + DeviceAuthorizationPath})
		return
	}
	if err != nil {
		d.logger().ErrorContext(ctx, "get device code", "err", err)
		writeOAuthError(w, r, d.storageError(err))
		return
	}
	now := d.now().UTC()
	if !now.Before(dc.ExpiresAt) {
		writeOAuthError(w, r, &oauthError{http.StatusBadRequest, "expired_token", "the code expired before it was approved; run latchkey login --web again"})
		return
	}
	if dc.Status == store.DevicePending {
		// The auth-style probe's second try of a poll gets that poll's
		// answer and counts for nothing (pollrate.go).
		if answer, ok := d.probes.retry(dc.ID, r, now); ok {
			writeOAuthError(w, r, answer)
			return
		}
	}
	var answer *oauthError
	dc, err = d.Store.UpdateDeviceCode(ctx, dc.ID, func(x *store.DeviceCode) error {
		answer = nil
		switch x.Status {
		case store.DevicePending:
			if pollTooSoon(x.LastPolledAt, now, x.Interval) {
				x.Interval += 5 * time.Second
				answer = &oauthError{http.StatusBadRequest, "slow_down", fmt.Sprintf("polling too fast; wait %d seconds between requests", int(x.Interval/time.Second))}
			} else {
				answer = &oauthError{http.StatusBadRequest, "authorization_pending", "the code has not been approved yet; open the verification URI and enter the code"}
			}
			x.LastPolledAt = &now
		case store.DeviceDenied:
			answer = &oauthError{http.StatusBadRequest, "access_denied", "the sign-in was denied on the console"}
		case store.DeviceApproved:
			x.Status = store.DeviceUsed // single use: the first poll after approval wins
		default:
			answer = &oauthError{http.StatusBadRequest, "invalid_grant", "this device_code was already used; start again with " + DeviceAuthorizationPath}
		}
		return nil
	})
	if err != nil {
		d.logger().ErrorContext(ctx, "update device code", "err", err)
		writeOAuthError(w, r, d.storageError(err))
		return
	}
	if answer != nil {
		d.probes.remember(dc.ID, r, now, answer)
		writeOAuthError(w, r, answer)
		return
	}
	d.issue(w, r, dc)
}

// issue opens the approved user's session.
func (d *Device) issue(w http.ResponseWriter, r *http.Request, dc *store.DeviceCode) {
	ctx := r.Context()
	u, err := d.Store.GetUser(ctx, dc.UserID)
	if err != nil || u.Suspended {
		writeOAuthError(w, r, &oauthError{http.StatusBadRequest, "access_denied", "the account that approved this code can no longer sign in"})
		return
	}
	c := auth.ClientOf(r)
	secret, sess, err := d.Sessions.Issue(ctx, service.Actor{User: u, IP: c.IP, Agent: c.Agent})
	if err != nil {
		d.logger().ErrorContext(ctx, "open device session", "err", err)
		writeOAuthError(w, r, d.storageError(err))
		return
	}
	writeJSON(w, http.StatusOK, sessionResponse{AccessToken: secret, TokenType: "Bearer", ExpiresIn: int64(sess.ExpiresAt.Sub(d.now()) / time.Second)})
}

// DeviceRequest is what the console shows about a pending device
// authorization before anyone decides on it: what asked, from where and
// when. IP and Agent come from the request that created the code; Agent is
// whatever that client sent (cleaned of control characters, bounded), so
// it is text to escape, never to trust.
type DeviceRequest struct {
	UserCode  string // as the terminal shows it: XXXX-XXXX
	ClientID  string
	IP        string // "" for a code created before addresses were kept
	Agent     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// unknownCode is the one answer for a code that is malformed, unknown,
// expired or already decided, so a guess learns nothing about which.
func unknownCode() error {
	return &service.Error{Kind: service.ErrInvalid, Field: "user_code",
		Msg: "this code is unknown, expired or already used; check it against your terminal, or run latchkey login --web again"}
}

// Pending returns the pending device authorization userCode names, for the
// console to show before the person approves or denies it. Like Decide it
// needs a login session: it shows who asked for a sign-in.
func (d *Device) Pending(ctx context.Context, a service.Actor, userCode string) (*DeviceRequest, error) {
	dc, err := d.pending(ctx, a, userCode)
	if err != nil {
		return nil, err
	}
	return &DeviceRequest{UserCode: formatUserCode(normalizeUserCode(userCode)), ClientID: dc.ClientID,
		IP: dc.RequesterIP, Agent: dc.RequesterAgent, CreatedAt: dc.CreatedAt, ExpiresAt: dc.ExpiresAt}, nil
}

// pending finds the code a session actor names, refusing every code that
// can no longer be decided.
func (d *Device) pending(ctx context.Context, a service.Actor, userCode string) (*store.DeviceCode, error) {
	if a.User == nil || !a.Session {
		return nil, &service.Error{Kind: service.ErrForbidden, Msg: "approving a device needs a console session"}
	}
	norm := normalizeUserCode(userCode)
	if len(norm) != 8 {
		return nil, unknownCode()
	}
	dc, err := d.Store.GetDeviceCodeByUserCode(ctx, digestOf(norm))
	if errors.Is(err, store.ErrNotFound) {
		return nil, unknownCode()
	}
	if err != nil {
		return nil, fmt.Errorf("get device code: %w", err)
	}
	if dc.Status != store.DevicePending || !d.now().Before(dc.ExpiresAt) {
		return nil, unknownCode()
	}
	return dc, nil
}

// Decide approves or denies the code a signed-in person typed on the
// console. Only a login session may approve: a narrow access token must not
// be able to mint a session with its owner's full role.
func (d *Device) Decide(ctx context.Context, a service.Actor, userCode string, approve bool) error {
	dc, err := d.pending(ctx, a, userCode)
	if err != nil {
		return err
	}
	now := d.now()
	action := "device.denied"
	if approve {
		action = "device.approved"
	}
	// The decision and its audit event are stored together or not at all.
	err = audited(ctx, d.Audit, func(ctx context.Context) error {
		_, err := d.Store.UpdateDeviceCode(ctx, dc.ID, func(x *store.DeviceCode) error {
			if x.Status != store.DevicePending || !now.Before(x.ExpiresAt) {
				return errDeviceState
			}
			x.Status, x.UserID = store.DeviceDenied, a.User.ID
			if approve {
				x.Status = store.DeviceApproved
			}
			return nil
		})
		return err
	}, a, action, "device_code", dc.ID, map[string]any{"client_id": dc.ClientID, "requester_ip": dc.RequesterIP})
	if errors.Is(err, errDeviceState) {
		return unknownCode()
	}
	if err != nil {
		return fmt.Errorf("update device code: %w", err)
	}
	return nil
}

// newUserCode returns XXXX-XXXX from userCodeAlphabet (20^8 ≈ 2.6e10
// codes, alive 10 minutes).
func newUserCode() string {
	var b [8]byte
	out := make([]byte, 0, 9)
	for i := range b {
		for {
			_, _ = rand.Read(b[i : i+1])
			if int(b[i]) < 256-256%len(userCodeAlphabet) { // no modulo bias
				break
			}
		}
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, userCodeAlphabet[int(b[i])%len(userCodeAlphabet)])
	}
	return string(out)
}

// normalizeUserCode upper-cases the code and drops everything that is not
// a letter, so "bcdf ghjk" and "BCDF-GHJK" are the same code.
func normalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
		if b.Len() > 16 {
			break
		}
	}
	return b.String()
}

// SameUserCode reports whether a and b are the same well-formed user code
// as the flow reads codes ("bcdf ghjk" is BCDF-GHJK). The console asks the
// person to type the code under review again before approving it.
func SameUserCode(a, b string) bool {
	na := normalizeUserCode(a)
	return len(na) == 8 && na == normalizeUserCode(b)
}

// formatUserCode writes a normalised code the way the terminal shows it.
func formatUserCode(norm string) string {
	if len(norm) != 8 {
		return norm
	}
	return norm[:4] + "-" + norm[4:]
}

// maxAgentBytes bounds the User-Agent kept with a device code: enough for
// any real client, and anyone may create codes.
const maxAgentBytes = 256

// boundAgent bounds a User-Agent to keep with a device code to
// maxAgentBytes, cut at a character boundary. The request edge has already
// made it valid UTF-8 and replaced its control and formatting characters
// (auth.Client.Agent), so a line break or a right-to-left override shows
// as U+FFFD on the approval page rather than acting.
func boundAgent(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxAgentBytes {
		cut := maxAgentBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newDeviceID() string { return uuid.Must(uuid.NewV7()).String() }

func printableID(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("%q", s)
}
