package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/notify"
)

const hookSecret = "whsec-test-0123456789"

// hookCall is one request the receiver got.
type hookCall struct {
	header http.Header
	body   []byte
}

// receiver is an httptest webhook endpoint answering with the statuses
// given, in order (the last one repeats), after an optional delay.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	calls    []hookCall
	statuses []int
	delay    time.Duration
	arrived  chan hookCall
}

func startReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []int{http.StatusNoContent}
	}
	r := &receiver{statuses: statuses, arrived: make(chan hookCall, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		c := hookCall{header: req.Header.Clone(), body: body}
		r.calls = append(r.calls, c)
		status := r.statuses[min(len(r.calls), len(r.statuses))-1]
		delay := r.delay
		r.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		r.arrived <- c
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func hookNotifier(t *testing.T, url string, mod ...func(*notify.WebhookConfig)) *notify.Notifier {
	t.Helper()
	cfg := &notify.WebhookConfig{URL: url, Secret: hookSecret, Backoff: 10 * time.Millisecond}
	for _, m := range mod {
		m(cfg)
	}
	return newNotifier(t, notify.Config{Webhook: cfg})
}

// independentSignature computes the signature the way a receiver would,
// without the package's helper.
func independentSignature(body []byte) string {
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestWebhookIsSignedAndCarriesTheNotice(t *testing.T) {
	r := startReceiver(t)
	n := hookNotifier(t, r.srv.URL+"/hooks/latchkey")
	nt := expiringNotice()
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.count() != 1 {
		t.Fatalf("receiver got %d calls, want 1", r.count())
	}
	c := r.calls[0]
	if got := c.header.Get("X-Latchkey-Signature"); got != independentSignature(c.body) {
		t.Fatalf("X-Latchkey-Signature %q does not match the body's HMAC-SHA256 %q", got, independentSignature(c.body))
	}
	if !notify.VerifySignature([]byte(hookSecret), c.body, c.header.Get(notify.SignatureHeader)) {
		t.Fatal("VerifySignature refuses a genuine request")
	}
	if notify.VerifySignature([]byte("another secret"), c.body, c.header.Get(notify.SignatureHeader)) {
		t.Fatal("VerifySignature accepts a signature made with another secret")
	}
	if c.header.Get("Content-Type") != "application/json" || c.header.Get("X-Latchkey-Event") != "token.expiring" || c.header.Get("X-Latchkey-Delivery") == "" {
		t.Fatalf("headers: %v", c.header)
	}
	var p struct {
		ID    string    `json:"id"`
		Kind  string    `json:"kind"`
		At    time.Time `json:"at"`
		Token struct {
			ID, Name, Kind, Hint string
			ExpiresAt            *time.Time `json:"expires_at"`
		} `json:"token"`
		Owner struct {
			ID, Username, Email string
		} `json:"owner"`
		Leak       *json.RawMessage `json:"leak"`
		ConsoleURL string           `json:"console_url"`
	}
	if err := json.Unmarshal(c.body, &p); err != nil {
		t.Fatalf("payload %s: %v", c.body, err)
	}
	if p.ID != c.header.Get("X-Latchkey-Delivery") || p.Kind != "token.expiring" || time.Since(p.At) > time.Minute {
		t.Errorf("payload id/kind/at: %s", c.body)
	}
	if p.Token.ID != nt.Token.ID || p.Token.Name != "deploy" || p.Token.Kind != "pat" || p.Token.Hint != "x9Qz" || p.Token.ExpiresAt == nil || !p.Token.ExpiresAt.Equal(*nt.Token.ExpiresAt) {
		t.Errorf("payload token: %s", c.body)
	}
	if p.Owner.ID != nt.Owner.ID || p.Owner.Username != "alice" || p.Owner.Email != "alice@example.org" {
		t.Errorf("payload owner: %s", c.body)
	}
	if p.Leak != nil || p.ConsoleURL != publicURL+"/tokens/"+nt.Token.ID {
		t.Errorf("payload leak/console_url: %s", c.body)
	}
}

func TestWebhookRetriesServerErrorsWithTheSameDelivery(t *testing.T) {
	r := startReceiver(t, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusOK)
	n := hookNotifier(t, r.srv.URL)
	if err := n.Send(t.Context(), expiringNotice()); err != nil {
		t.Fatalf("Send: %v; want success on the third attempt", err)
	}
	if r.count() != 3 {
		t.Fatalf("receiver got %d calls, want 3", r.count())
	}
	first := r.calls[0]
	for _, c := range r.calls[1:] {
		if c.header.Get("X-Latchkey-Delivery") != first.header.Get("X-Latchkey-Delivery") || string(c.body) != string(first.body) {
			t.Fatal("a retry differs from the first attempt")
		}
	}
}

func TestWebhookGivesUpAfterTwoRetries(t *testing.T) {
	r := startReceiver(t, http.StatusInternalServerError)
	n := hookNotifier(t, r.srv.URL+"/?token=do-not-log-me")
	err := n.Send(t.Context(), expiringNotice())
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Failed["webhook"] == nil {
		t.Fatalf("Send: %v; want a DeliveryError for the webhook", err)
	}
	if r.count() != 3 {
		t.Fatalf("receiver got %d calls, want 3 (1 + 2 retries)", r.count())
	}
	if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error %q does not say what the receiver answered and how often it was tried", err)
	}
	if strings.Contains(err.Error(), "do-not-log-me") {
		t.Errorf("error %q shows the URL's query", err)
	}
}

func TestWebhookDoesNotRetryAClientError(t *testing.T) {
	r := startReceiver(t, http.StatusUnauthorized)
	n := hookNotifier(t, r.srv.URL)
	if err := n.Send(t.Context(), expiringNotice()); err == nil {
		t.Fatal("Send succeeded against a 401")
	}
	if r.count() != 1 {
		t.Fatalf("receiver got %d calls, want 1: a 4xx is final", r.count())
	}
}

func TestWebhookAttemptThatHangsTimesOutAndIsRetried(t *testing.T) {
	r := startReceiver(t)
	r.delay = 2 * time.Second
	n := hookNotifier(t, r.srv.URL, func(c *notify.WebhookConfig) { c.Timeout = 100 * time.Millisecond; c.Retries = 1 })
	start := time.Now()
	if err := n.Send(t.Context(), expiringNotice()); err == nil {
		t.Fatal("Send succeeded though every attempt timed out")
	}
	if r.count() != 2 {
		t.Fatalf("receiver got %d calls, want 2 (1 + 1 retry)", r.count())
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("Send took %s; the attempt timeout was not applied", time.Since(start))
	}
}

func TestWebhookConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  notify.WebhookConfig
		want string
	}{
		{notify.WebhookConfig{URL: "hooks.example.com/x", Secret: "s"}, "absolute http:// or https://"},
		{notify.WebhookConfig{URL: "ftp://hooks.example.com/x", Secret: "s"}, "absolute http:// or https://"},
		{notify.WebhookConfig{URL: "https://hooks.example.com/x"}, "secret is required"},
	} {
		if _, err := notify.New(notify.Config{Webhook: &c.cfg}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(webhook %+v) = %v; want an error containing %q", c.cfg, err, c.want)
		}
	}
}

func TestPartialDeliveryNamesWhoGotIt(t *testing.T) {
	srv := startSMTP(t)
	r := startReceiver(t, http.StatusForbidden)
	n := newNotifier(t, notify.Config{
		SMTP:    &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.port(), From: "latchkey@example.com"},
		Webhook: &notify.WebhookConfig{URL: r.srv.URL, Secret: hookSecret},
	})
	if got := strings.Join(n.Channels(), ","); got != "email,webhook" {
		t.Fatalf("Channels() = %s", got)
	}
	err := n.Send(t.Context(), expiringNotice())
	var de *notify.DeliveryError
	if !errors.As(err, &de) || len(de.Delivered) != 1 || de.Delivered[0] != "email" || de.Failed["webhook"] == nil {
		t.Fatalf("Send: %#v; want delivered by email, failed by webhook", err)
	}
	srv.next(t)
}

func TestPostDeliversInTheBackgroundAndCloseDrains(t *testing.T) {
	r := startReceiver(t)
	r.delay = 50 * time.Millisecond
	n, err := notify.New(notify.Config{Webhook: &notify.WebhookConfig{URL: r.srv.URL, Secret: hookSecret}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		n.Post(expiringNotice())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n.Close(ctx)
	if r.count() != 3 {
		t.Fatalf("receiver got %d calls after Close, want all 3 posted notices", r.count())
	}
	n.Post(expiringNotice()) // after Close: dropped, no panic
	time.Sleep(50 * time.Millisecond)
	if r.count() != 3 {
		t.Fatal("a notice posted after Close was delivered")
	}
}
