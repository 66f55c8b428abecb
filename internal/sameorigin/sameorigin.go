// Package sameorigin keeps an HTTP client's redirects on the origin it
// first asked: the Go client and the middleware send credentials (a
// token in a header or a form body) that must reach no other server.
package sameorigin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// CheckRedirect is an http.Client CheckRedirect that follows a redirect
// only to the origin (scheme, host and port) of the first request. Go's
// client would keep the Authorization header for any port and scheme of
// the same host name (https to http included) and resend a 307 or 308's
// body, which may hold a token, to any host.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	from := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, from.Scheme) || !strings.EqualFold(hostPort(req.URL), hostPort(from)) {
		return fmt.Errorf("refused to follow a redirect to %s://%s: the request carries credentials for %s://%s only; "+
			"if the server has moved, use its new address", req.URL.Scheme, req.URL.Host, from.Scheme, from.Host)
	}
	return nil
}

// hostPort is u's host with its port, the scheme's default if none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(u.Hostname(), port)
}
