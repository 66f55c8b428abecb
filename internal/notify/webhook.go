package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Webhook request headers.
const (
	// SignatureHeader carries "sha256=" + the hex HMAC-SHA256 of the body,
	// keyed with the webhook secret.
	SignatureHeader = "X-Latchkey-Signature"
	// EventHeader carries the notice's kind, e.g. "token.expiring".
	EventHeader = "X-Latchkey-Event"
	// DeliveryHeader carries the notice's id, the same on every retry, so a
	// receiver can drop duplicates.
	DeliveryHeader = "X-Latchkey-Delivery"
)

// WebhookConfig is where and how to POST notices.
type WebhookConfig struct {
	URL    string // http:// or https://
	Secret string // the HMAC key receivers verify the signature with
	// Client sends the requests (default: a client with Timeout per attempt).
	Client *http.Client
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// Retries is how many times a failed attempt is repeated (default 2;
	// negative for none). Network errors, 408, 429 and 5xx answers are
	// retried; other answers are final.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one (default 1s).
	Backoff time.Duration
}

type webhook struct {
	url     string
	secret  []byte
	client  *http.Client
	timeout time.Duration
	retries int
	backoff time.Duration
}

// WebhookPayload is the JSON body of a webhook request.
type WebhookPayload struct {
	ID         string       `json:"id"`
	Kind       Kind         `json:"kind"`
	At         time.Time    `json:"at"`
	Token      WebhookToken `json:"token"`
	Owner      WebhookOwner `json:"owner"`
	Leak       *WebhookLeak `json:"leak,omitempty"`
	ConsoleURL string       `json:"console_url,omitempty"`
}

// WebhookToken is the token part of a WebhookPayload.
type WebhookToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name,omitempty"`
	Kind      string     `json:"kind"`
	Hint      string     `json:"hint"`
	ExpiresAt *time.Time `json:"expires_at"`
	Previous  bool       `json:"previous_secret,omitempty"`
}

// WebhookOwner is the owner part of a WebhookPayload.
type WebhookOwner struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
}

// WebhookLeak is the leak part of a WebhookPayload.
type WebhookLeak struct {
	URL    string `json:"url,omitempty"`
	Source string `json:"source,omitempty"`
}

// ValidateWebhookURL checks a webhook URL: absolute http or https.
func ValidateWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the webhook URL must be an absolute http:// or https:// URL, e.g. https://hooks.example.com/latchkey")
	}
	return nil
}

func newWebhook(cfg WebhookConfig) (*webhook, error) {
	if err := ValidateWebhookURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if cfg.Secret == "" {
		return nil, errors.New("webhook: a secret is required, so receivers can tell Latchkey's requests from forged ones")
	}
	w := &webhook{url: cfg.URL, secret: []byte(cfg.Secret), client: cfg.Client, timeout: cfg.Timeout, retries: cfg.Retries, backoff: cfg.Backoff}
	if w.timeout <= 0 {
		w.timeout = 10 * time.Second
	}
	if w.client == nil {
		w.client = &http.Client{Timeout: w.timeout}
	}
	// Redirects are not followed: a 307 or 308 would POST the signed body,
	// with the owner's name and address, to wherever the receiver (or
	// whoever took over its address) points, loopback and cloud metadata
	// addresses included. The operator chose one URL; a receiver that moved
	// is a failed delivery that names the fix.
	c := *w.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	w.client = &c
	if cfg.Retries == 0 {
		w.retries = 2
	} else if cfg.Retries < 0 {
		w.retries = 0
	}
	if w.backoff <= 0 {
		w.backoff = time.Second
	}
	return w, nil
}

func (w *webhook) name() string { return "webhook" }

// Sign returns the X-Latchkey-Signature value of body: "sha256=" and the
// hex HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the signature of body under
// secret, comparing in constant time.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(strings.TrimSpace(header)))
}

// Payload is the webhook body for n.
func Payload(n Notice, link string) WebhookPayload {
	p := WebhookPayload{
		ID: n.ID, Kind: n.Kind, At: n.At.UTC(), ConsoleURL: link,
		Token: WebhookToken{ID: n.Token.ID, Name: n.Token.Name, Kind: n.Token.Kind, Hint: n.Token.Hint, ExpiresAt: n.Token.ExpiresAt, Previous: n.Token.Previous},
		Owner: WebhookOwner{ID: n.Owner.ID, Username: n.Owner.Username, Email: n.Owner.Email},
	}
	if n.Leak != nil {
		p.Leak = &WebhookLeak{URL: n.Leak.URL, Source: n.Leak.Source}
	}
	return p
}

func (w *webhook) deliver(ctx context.Context, n Notice, link string) error {
	body, err := json.Marshal(Payload(n, link))
	if err != nil {
		return fmt.Errorf("encode webhook payload: %w", err)
	}
	sig := Sign(w.secret, body)
	wait := w.backoff
	for attempt := 0; ; attempt++ {
		retry, err := w.post(ctx, n, body, sig)
		if err == nil {
			return nil
		}
		if !retry || attempt >= w.retries {
			if attempt > 0 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// post makes one attempt and says whether a failure is worth retrying.
func (w *webhook) post(ctx context.Context, n Notice, body []byte, sig string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Latchkey-Webhook/1")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set(EventHeader, string(n.Kind))
	req.Header.Set(DeliveryHeader, n.ID)
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL may hold credentials; say where without them.
		return ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded), fmt.Errorf("webhook %s: %w", redactURL(w.url), unwrapURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return false, fmt.Errorf("webhook %s answered %s; redirects are not followed: set the webhook URL to where it leads", redactURL(w.url), resp.Status)
	}
	retry = resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, fmt.Errorf("webhook %s answered %s", redactURL(w.url), resp.Status)
}

// redactURL drops the user info and query of u, which may hold secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// unwrapURLError drops *url.Error's wrapping, which repeats the full URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
