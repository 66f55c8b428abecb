package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
)

// A container built FROM scratch has no shell, curl or wget, so its
// HEALTHCHECK runs the binary itself: "latchkey healthcheck" GETs /healthz
// and exits 0 when the server answers 200, 1 otherwise (the two codes
// Docker and Podman give meaning to).

// healthcheckDefaultListen is serve's default --listen.
const healthcheckDefaultListen = "127.0.0.1:8080"

func newHealthcheckCmd() *cobra.Command {
	var rawURL string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Exit 0 if the server answers /healthz with 200, 1 if not (for container health checks)",
		Long: `Check that a Latchkey server is up: GET its /healthz and exit 0 when it
answers 200, 1 otherwise (connection refused, timeout, any other status).
Container images built FROM scratch have no shell or curl; their
HEALTHCHECK runs this command.

Without --url it checks the server this environment configures: it reads
$LATCHKEY_LISTEN as "latchkey serve" does (default 127.0.0.1:8080), and
a wildcard address (0.0.0.0, [::] or an empty host) is reached on
loopback. The check sends no credential and follows no redirect.`,
		Example: `  # In a Containerfile (LATCHKEY_LISTEN=0.0.0.0:8080 is checked on 127.0.0.1:8080)
  HEALTHCHECK CMD ["/latchkey", "healthcheck"]

  # Any server, with a shorter timeout
  latchkey healthcheck --url http://10.0.0.5:8080/healthz --timeout 2s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := healthcheckURL(rawURL, os.Getenv(config.EnvName("listen")))
			if err != nil {
				return fail(exitUsage, err)
			}
			if timeout <= 0 {
				return fail(exitUsage, fmt.Errorf("--timeout must be positive, e.g. 5s"))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := checkHealth(ctx, target); err != nil {
				// Every failure is "unhealthy": exit 1, never another code.
				return fail(1, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "healthy: %s answered 200\n", target)
			return err
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "`URL` to check (default: /healthz of $LATCHKEY_LISTEN on loopback, else http://127.0.0.1:8080/healthz)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

// healthcheckURL returns the URL to check: the one given, or /healthz of
// the listen address, reached on loopback when it is a wildcard.
func healthcheckURL(given, listen string) (string, error) {
	if given != "" {
		u, err := url.Parse(given)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("--url %q is not an http:// or https:// URL; e.g. http://127.0.0.1:8080/healthz", given)
		}
		if u.User != nil {
			return "", fmt.Errorf("--url must not carry credentials: /healthz needs none")
		}
		if u.Path == "" {
			u.Path = "/healthz"
		}
		return u.String(), nil
	}
	if listen == "" {
		listen = healthcheckDefaultListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return "", fmt.Errorf("$LATCHKEY_LISTEN %q is not host:port; give --url instead", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/healthz"}).String(), nil
}

// checkHealth GETs target and succeeds only on 200.
func checkHealth(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	client := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("unhealthy: %s did not answer in time", target)
		}
		return fmt.Errorf("unhealthy: %s: %w", target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("unhealthy: %s answered %s%s", target, resp.Status, msg)
	}
	return nil
}

// unwrapURLError drops net/http's `Get "URL":` prefix, which would repeat
// the URL the message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
