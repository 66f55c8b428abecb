package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// probe sends one request of the scenario's kind and checks the answer's
// content, not only its status: the load tool counts statuses, and an
// introspection answering 200 {"active":false} would otherwise pass.
func probe(ctx context.Context, base string, sc scenario, secret, caller string) error {
	var req *http.Request
	var err error
	switch sc.mode {
	case "me":
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/me", nil)
	case "introspect":
		body := url.Values{"token": {secret}}.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth2/introspect", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		secret = caller
	case "create":
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/tokens",
			strings.NewReader(`{"name":"probe","scopes":["repo"],"expires_in":"720h"}`))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	default:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/auth/verify", nil)
		if err == nil {
			req.Header.Set("X-Original-Method", "GET")
			req.Header.Set("X-Original-URI", "/repos/acme/web")
		}
	}
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != sc.expect {
		return fmt.Errorf("probe: %s answered %d, want %d: %s", req.URL.Path, resp.StatusCode, sc.expect, body)
	}
	return checkBody(sc.mode, resp.StatusCode, body)
}

func checkBody(mode string, status int, body []byte) error {
	var v struct {
		Active *bool           `json:"active"`
		Token  json.RawMessage `json:"token"`
		Secret string          `json:"secret"`
	}
	if mode == "me" || mode == "introspect" || mode == "create" {
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("probe: answer is not JSON (%v): %s", err, body)
		}
	}
	switch {
	case mode == "introspect" && (v.Active == nil || !*v.Active):
		return fmt.Errorf("probe: introspection of a valid token is not active: %s", body)
	case mode == "me" && len(v.Token) == 0:
		return fmt.Errorf("probe: /api/v1/me names no token: %s", body)
	case mode == "create" && !strings.HasPrefix(v.Secret, "lk_pat_"):
		return fmt.Errorf("probe: created token has no secret: %s", body)
	}
	return nil
}
