package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/latchkey/latchkey/client"
)

// Where CI systems hand a job its OIDC token.
const (
	envGitHubRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	// envIDToken is the variable GitLab CI sets when the job declares
	// `id_tokens: LATCHKEY_ID_TOKEN: {aud: ...}`; any CI can set it.
	envIDToken = "LATCHKEY_ID_TOKEN"
	// defaultAudience is the audience asked of GitHub Actions when
	// --audience is not given; the policy's audience must be the same.
	defaultAudience = "latchkey"
)

// loginFederated gets the CI job's or workload's OIDC token, exchanges it
// for a fed token and checks it, storing it in sc.
func (a *app) loginFederated(anon *client.Client, sc *storedContext, f loginFlags) error {
	idToken, source, err := a.ciIDToken(f)
	if err != nil {
		return err
	}
	res, err := anon.ExchangeFederated(a.ctx(), client.FederatedExchangeRequest{SubjectToken: idToken, Policy: f.policy})
	if err != nil {
		var oe *client.OAuthError
		if errors.As(err, &oe) {
			return fail(exitAuth, fmt.Errorf("the server refused the %s token: %s", source, oe.Description))
		}
		return err
	}
	return a.verifyCredential(sc, res.AccessToken)
}

// ciIDToken finds the OIDC token: --token-file, else GitHub Actions' token
// request, else $LATCHKEY_ID_TOKEN (GitLab CI id_tokens).
func (a *app) ciIDToken(f loginFlags) (token, source string, err error) {
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", "", fail(exitUsage, fmt.Errorf("read --token-file: %w", err))
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", "", fail(exitUsage, fmt.Errorf("--token-file %s is empty", f.tokenFile))
		}
		return t, "token file's", nil
	}
	if u, bearer := os.Getenv(envGitHubRequestURL), os.Getenv(envGitHubRequestToken); u != "" && bearer != "" {
		t, err := githubIDToken(a.ctx(), u, bearer, f.audience)
		if err != nil {
			return "", "", fail(exitServer, err)
		}
		return t, "GitHub Actions", nil
	}
	if t := strings.TrimSpace(os.Getenv(envIDToken)); t != "" {
		return t, envIDToken, nil
	}
	return "", "", usageError("no CI identity token found: in GitHub Actions give the job `permissions: id-token: write`; " +
		"in GitLab CI declare `id_tokens: " + envIDToken + ": {aud: <audience>}`; in Kubernetes pass the projected token with --token-file")
}

// githubIDToken asks the GitHub Actions runtime for an ID token with aud.
func githubIDToken(ctx context.Context, requestURL, bearer, audience string) (string, error) {
	if audience == "" {
		audience = defaultAudience
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL", envGitHubRequestURL)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("request the GitHub Actions ID token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("request the GitHub Actions ID token: HTTP %d (does the job have `permissions: id-token: write`?)", resp.StatusCode)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", errors.New("the GitHub Actions token service answered without a token")
	}
	return out.Value, nil
}
