package sts_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/sts"
)

// loopbackClient's connections come from ip, another loopback address (all
// of 127.0.0.0/8 is loopback on Linux), so a test can show the server more
// than one client address.
func loopbackClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// askForDeviceCode posts a device authorization request from c, with the
// given forwarding header when xff is not empty.
func askForDeviceCode(t *testing.T, c *http.Client, s *servertest.Server, xff string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+sts.DeviceAuthorizationPath, strings.NewReader(url.Values{"client_id": {sts.CLIClientID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("device authorization: status %d, not JSON: %s", resp.StatusCode, b)
	}
	return resp, out
}

func TestDeviceAuthorizationFloodIsRefusedPerClientAddress(t *testing.T) {
	// 127.0.0.2 is a trusted proxy; 127.0.0.1 and 127.0.0.3 are clients
	// that connect directly.
	s := start(t, "--trusted-proxies=127.0.0.2/32")
	attacker := loopbackClient("127.0.0.1")

	// The flood: device codes until the server refuses one.
	var refused *http.Response
	var body map[string]any
	for i := 0; i < 200 && refused == nil; i++ {
		resp, out := askForDeviceCode(t, attacker, s, "")
		switch resp.StatusCode {
		case http.StatusOK:
			if out["device_code"] == nil {
				t.Fatalf("code %d: 200 without a device_code: %v", i, out)
			}
		case http.StatusTooManyRequests:
			refused, body = resp, out
		default:
			t.Fatalf("code %d: status %d %v", i, resp.StatusCode, out)
		}
	}
	if refused == nil {
		t.Fatal("200 device codes from one address were all issued")
	}
	if body["error"] != "temporarily_unavailable" || !strings.Contains(body["error_description"].(string), "too many device codes") {
		t.Fatalf("refusal body is not an RFC 6749 §5.2 error: %v", body)
	}
	if body["device_code"] != nil || body["user_code"] != nil {
		t.Fatalf("a refusal carries a code: %v", body)
	}
	if secs, err := strconv.Atoi(refused.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q, want whole seconds ≥ 1", refused.Header.Get("Retry-After"))
	}
	if ct := refused.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}

	t.Run("a forged X-Forwarded-For from an untrusted peer gets no fresh budget", func(t *testing.T) {
		for _, forged := range []string{"203.0.113.7", "198.51.100.1, 203.0.113.8"} {
			if resp, out := askForDeviceCode(t, attacker, s, forged); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("X-Forwarded-For %q: status %d %v, want 429", forged, resp.StatusCode, out)
			}
		}
	})

	t.Run("another direct client is not affected", func(t *testing.T) {
		if resp, out := askForDeviceCode(t, loopbackClient("127.0.0.3"), s, ""); resp.StatusCode != http.StatusOK || out["device_code"] == nil {
			t.Fatalf("status %d %v, want a device code", resp.StatusCode, out)
		}
	})

	t.Run("another client behind the trusted proxy is not affected", func(t *testing.T) {
		if resp, out := askForDeviceCode(t, loopbackClient("127.0.0.2"), s, "198.51.100.20"); resp.StatusCode != http.StatusOK || out["device_code"] == nil {
			t.Fatalf("status %d %v, want a device code", resp.StatusCode, out)
		}
	})

	t.Run("the refused address stated by the trusted proxy is still refused", func(t *testing.T) {
		if resp, out := askForDeviceCode(t, loopbackClient("127.0.0.2"), s, "127.0.0.1"); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d %v, want 429", resp.StatusCode, out)
		}
	})

	t.Run("an IPv6 client that changes address within its /64 shares one budget", func(t *testing.T) {
		proxy := loopbackClient("127.0.0.2")
		refusedAt := -1
		for i := 1; i <= 200 && refusedAt < 0; i++ {
			resp, out := askForDeviceCode(t, proxy, s, fmt.Sprintf("2001:db8:1:2::%x", i))
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusTooManyRequests:
				refusedAt = i
			default:
				t.Fatalf("address %d: status %d %v", i, resp.StatusCode, out)
			}
		}
		if refusedAt < 0 {
			t.Fatal("200 addresses of one /64 were all given device codes")
		}
		if resp, out := askForDeviceCode(t, proxy, s, "2001:db8:1:3::1"); resp.StatusCode != http.StatusOK || out["device_code"] == nil {
			t.Fatalf("a client in another /64: status %d %v, want a device code", resp.StatusCode, out)
		}
	})
}
