package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/notify"
	"github.com/latchkey/latchkey/internal/notify/notifytest"
)

const hookSecret = "whsec-test-0123456789"

func hookNotifier(t *testing.T, url string, mod ...func(*notify.WebhookConfig)) *notify.Notifier {
	t.Helper()
	cfg := &notify.WebhookConfig{URL: url, Secret: hookSecret, Backoff: 10 * time.Millisecond}
	for _, m := range mod {
		m(cfg)
	}
	return newNotifier(t, notify.Config{Webhook: cfg})
}

func TestWebhookIsSignedAndCarriesTheNotice(t *testing.T) {
	r := notifytest.StartReceiver(t, hookSecret)
	n := hookNotifier(t, r.URL+"/hooks/latchkey")
	nt := expiringNotice()
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Count() != 1 {
		t.Fatalf("receiver got %d calls, want 1", r.Count())
	}
	c := r.Calls()[0]
	if !c.Signed {
		t.Fatalf("X-Latchkey-Signature %q is not the HMAC-SHA256 of the body", c.Header.Get("X-Latchkey-Signature"))
	}
	if !notify.VerifySignature([]byte(hookSecret), c.Body, c.Header.Get(notify.SignatureHeader)) {
		t.Fatal("VerifySignature refuses a genuine request")
	}
	if notify.VerifySignature([]byte("another secret"), c.Body, c.Header.Get(notify.SignatureHeader)) {
		t.Fatal("VerifySignature accepts a signature made with another secret")
	}
	if c.Header.Get("Content-Type") != "application/json" || c.Header.Get("X-Latchkey-Event") != "token.expiring" || c.Header.Get("X-Latchkey-Delivery") == "" {
		t.Fatalf("headers: %v", c.Header)
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
	if err := json.Unmarshal(c.Body, &p); err != nil {
		t.Fatalf("payload %s: %v", c.Body, err)
	}
	if p.ID != c.Header.Get("X-Latchkey-Delivery") || p.Kind != "token.expiring" || time.Since(p.At) > time.Minute {
		t.Errorf("payload id/kind/at: %s", c.Body)
	}
	if p.Token.ID != nt.Token.ID || p.Token.Name != "deploy" || p.Token.Kind != "pat" || p.Token.Hint != "x9Qz" || p.Token.ExpiresAt == nil || !p.Token.ExpiresAt.Equal(*nt.Token.ExpiresAt) {
		t.Errorf("payload token: %s", c.Body)
	}
	if p.Owner.ID != nt.Owner.ID || p.Owner.Username != "alice" || p.Owner.Email != "alice@example.org" {
		t.Errorf("payload owner: %s", c.Body)
	}
	if p.Leak != nil || p.ConsoleURL != publicURL+"/tokens/"+nt.Token.ID {
		t.Errorf("payload leak/console_url: %s", c.Body)
	}
}

func TestWebhookRetriesServerErrorsWithTheSameDelivery(t *testing.T) {
	r := notifytest.StartReceiver(t, hookSecret, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusOK)
	n := hookNotifier(t, r.URL)
	if err := n.Send(t.Context(), expiringNotice()); err != nil {
		t.Fatalf("Send: %v; want success on the third attempt", err)
	}
	if r.Count() != 3 {
		t.Fatalf("receiver got %d calls, want 3", r.Count())
	}
	calls := r.Calls()
	first := calls[0]
	for _, c := range calls[1:] {
		if c.Header.Get("X-Latchkey-Delivery") != first.Header.Get("X-Latchkey-Delivery") || string(c.Body) != string(first.Body) {
			t.Fatal("a retry differs from the first attempt")
		}
	}
}

func TestWebhookGivesUpAfterTwoRetries(t *testing.T) {
	r := notifytest.StartReceiver(t, hookSecret, http.StatusInternalServerError)
	n := hookNotifier(t, r.URL+"/?token=do-not-log-me")
	err := n.Send(t.Context(), expiringNotice())
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Failed["webhook"] == nil {
		t.Fatalf("Send: %v; want a DeliveryError for the webhook", err)
	}
	if r.Count() != 3 {
		t.Fatalf("receiver got %d calls, want 3 (1 + 2 retries)", r.Count())
	}
	if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error %q does not say what the receiver answered and how often it was tried", err)
	}
	if strings.Contains(err.Error(), "do-not-log-me") {
		t.Errorf("error %q shows the URL's query", err)
	}
}

func TestWebhookDoesNotRetryAClientError(t *testing.T) {
	r := notifytest.StartReceiver(t, hookSecret, http.StatusUnauthorized)
	n := hookNotifier(t, r.URL)
	if err := n.Send(t.Context(), expiringNotice()); err == nil {
		t.Fatal("Send succeeded against a 401")
	}
	if r.Count() != 1 {
		t.Fatalf("receiver got %d calls, want 1: a 4xx is final", r.Count())
	}
}

func TestWebhookAttemptThatHangsTimesOutAndIsRetried(t *testing.T) {
	r := notifytest.StartReceiver(t, hookSecret)
	r.SetDelay(2 * time.Second)
	n := hookNotifier(t, r.URL, func(c *notify.WebhookConfig) { c.Timeout = 100 * time.Millisecond; c.Retries = 1 })
	start := time.Now()
	if err := n.Send(t.Context(), expiringNotice()); err == nil {
		t.Fatal("Send succeeded though every attempt timed out")
	}
	if r.Count() != 2 {
		t.Fatalf("receiver got %d calls, want 2 (1 + 1 retry)", r.Count())
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
	srv := notifytest.StartSMTP(t)
	r := notifytest.StartReceiver(t, hookSecret, http.StatusForbidden)
	n := newNotifier(t, notify.Config{
		SMTP:    &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.Port(), From: "latchkey@example.com"},
		Webhook: &notify.WebhookConfig{URL: r.URL, Secret: hookSecret},
	})
	if got := strings.Join(n.Channels(), ","); got != "email,webhook" {
		t.Fatalf("Channels() = %s", got)
	}
	err := n.Send(t.Context(), expiringNotice())
	var de *notify.DeliveryError
	if !errors.As(err, &de) || len(de.Delivered) != 1 || de.Delivered[0] != "email" || de.Failed["webhook"] == nil {
		t.Fatalf("Send: %#v; want delivered by email, failed by webhook", err)
	}
	srv.Next(t)
}

func TestPostDeliversInTheBackgroundAndCloseDrains(t *testing.T) {
	r := notifytest.StartReceiver(t, hookSecret)
	r.SetDelay(50 * time.Millisecond)
	n, err := notify.New(notify.Config{Webhook: &notify.WebhookConfig{URL: r.URL, Secret: hookSecret}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		n.Post(expiringNotice())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n.Close(ctx)
	if r.Count() != 3 {
		t.Fatalf("receiver got %d calls after Close, want all 3 posted notices", r.Count())
	}
	n.Post(expiringNotice()) // after Close: dropped, no panic
	time.Sleep(50 * time.Millisecond)
	if r.Count() != 3 {
		t.Fatal("a notice posted after Close was delivered")
	}
}
