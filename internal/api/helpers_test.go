package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// call is one HTTP request a test sends. Auth is the whole Authorization
// header ("" = none); Body is sent as is when it is a string or []byte, and
// JSON-encoded otherwise.
type call struct {
	Method      string
	Path        string
	Auth        string
	Body        any
	ContentType string // default application/json when a body is given
	Agent       string
	From        string // source address on loopback, e.g. "127.0.0.2"; "" = the default
}

// reply is what the server answered.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) String() string { return http.StatusText(r.Status) + ": " + string(r.Body) }

// send performs c against s.
func send(t testing.TB, s *servertest.Server, c call) reply {
	t.Helper()
	var body io.Reader
	switch b := c.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(c.Method, s.URL+c.Path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if c.Body != nil {
		ct := c.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.Auth != "" {
		req.Header.Set("Authorization", c.Auth)
	}
	if c.Agent != "" {
		req.Header.Set("User-Agent", c.Agent)
	}
	client := s.Client
	if c.From != "" {
		client = clientFrom(c.From)
		client.Transport = s.ValidatingTransport(client.Transport)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.Path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

func bearer(secret string) string { return "Bearer " + secret }

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// problemBody is an RFC 9457 problem document as huma writes it.
type problemBody struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

// text is everything the problem says, for matching an explanation.
func (p problemBody) text() string {
	var b strings.Builder
	b.WriteString(p.Detail)
	for _, e := range p.Errors {
		b.WriteString(" | " + e.Location + ": " + e.Message)
	}
	return b.String()
}

// wantProblem fails unless r is a problem+json answer with status want and
// a non-empty detail, and returns the problem.
func wantProblem(t testing.TB, r reply, want int) problemBody {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p problemBody
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body is not JSON: %v: %s", err, r.Body)
	}
	if strings.TrimSpace(p.Detail) == "" {
		t.Fatalf("problem has no detail: %s", r.Body)
	}
	if p.Status != want {
		t.Errorf("problem status field %d, want %d", p.Status, want)
	}
	return p
}

// want401 checks a refused credential: problem+json and a challenge.
func want401(t testing.TB, r reply) problemBody {
	t.Helper()
	p := wantProblem(t, r, http.StatusUnauthorized)
	if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, "Bearer") {
		t.Errorf("401 without a Bearer WWW-Authenticate challenge (got %q)", ch)
	}
	return p
}

// decode unmarshals r's body into a T, failing unless the status is want.
func decode[T any](t testing.TB, r reply, want int) T {
	t.Helper()
	var v T
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// tokenJSON is a token object as the API writes it.
type tokenJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	Scopes         []string   `json:"scopes"`
	UserID         string     `json:"user_id"`
	Kind           string     `json:"kind"`
	State          string     `json:"state"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	LastUsedIP     string     `json:"last_used_ip"`
	LastUsedAgent  string     `json:"last_used_user_agent"`
	RecentIPs      []string   `json:"recent_ips"`
	Hint           string     `json:"hint"`
	IPAllowlist    []string   `json:"ip_allowlist"`
	RevokedAt      *time.Time `json:"revoked_at"`
	RegeneratedAt  *time.Time `json:"regenerated_at"`
	GraceExpiresAt *time.Time `json:"grace_expires_at"`
}

type issued struct {
	Token  tokenJSON `json:"token"`
	Secret string    `json:"secret"`
}

type tokenList struct {
	Items      []tokenJSON `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

type meJSON struct {
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
	} `json:"user"`
	Token  *tokenJSON `json:"token"`
	Scopes []string   `json:"scopes"`
}

// createToken creates a token with the given credential and body.
func createToken(t testing.TB, s *servertest.Server, auth string, body map[string]any) issued {
	t.Helper()
	return decode[issued](t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: auth, Body: body}), http.StatusCreated)
}

// getToken shows a token.
func getToken(t testing.TB, s *servertest.Server, auth, id string) tokenJSON {
	t.Helper()
	return decode[tokenJSON](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens/" + id, Auth: auth}), http.StatusOK)
}

// me asks who a credential is, failing unless it is accepted.
func me(t testing.TB, s *servertest.Server, auth string) meJSON {
	t.Helper()
	return decode[meJSON](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: auth}), http.StatusOK)
}

// meStatus is the status /api/v1/me answers a credential with.
func meStatus(t testing.TB, s *servertest.Server, auth string) reply {
	t.Helper()
	return send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: auth})
}

// world is a server with an owner session, an admin and a member, each with
// a session.
type world struct {
	*servertest.Server
	Owner    string // owner session, Authorization header value
	Admin    string
	AdminID  string
	Member   string
	MemberID string
	Other    string // a second member
	OtherID  string
}

const memberPassword = "member-password-1"

func newWorld(t testing.TB, s *servertest.Server) *world {
	t.Helper()
	owner := s.AdminSession(t)
	w := &world{Server: s, Owner: bearer(owner)}
	w.AdminID = s.CreateUser(t, owner, "ada", memberPassword, "admin", "person")
	w.MemberID = s.CreateUser(t, owner, "mia", memberPassword, "member", "person")
	w.OtherID = s.CreateUser(t, owner, "otto", memberPassword, "member", "person")
	w.Admin = bearer(s.Login(t, "ada", memberPassword))
	w.Member = bearer(s.Login(t, "mia", memberPassword))
	w.Other = bearer(s.Login(t, "otto", memberPassword))
	return w
}

// eventually polls cond every 50ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

// rawKeys returns the top-level keys of a JSON object.
func rawKeys(t testing.TB, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

// plantToken stores a token issued in the past, straight into the server's
// store, the way one made weeks ago would be: the API only makes tokens
// issued now, and tests must not wait weeks. It returns the secret.
func plantToken(t testing.TB, s *servertest.Server, userID, name string, created time.Time, expires *time.Time, scopes ...string) (id, secret string) {
	t.Helper()
	secret, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	digest := token.Hash(secret)
	tk := &store.Token{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Kind: store.TokenPersonal, Name: name,
		Scopes: scopes, Digest: digest[:], Hint: token.Hint(secret),
		CreatedAt: created.UTC(), UpdatedAt: created.UTC(), ExpiresAt: expires,
	}
	if err := s.App.Store.CreateToken(t.Context(), tk); err != nil {
		t.Fatalf("plant token: %v", err)
	}
	return tk.ID, secret
}

func ptr[T any](v T) *T { return &v }

// clientFrom returns a client whose connections come from ip, another
// loopback address (all of 127.0.0.0/8 is loopback on Linux), so tests can
// show the server more than one client address.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}
