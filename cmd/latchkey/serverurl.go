package main

import (
	"net"
	"strings"
)

// normalizeServerURL turns what people type as a server address into the
// URL the client wants: a loopback host without a scheme (127.0.0.1:8080,
// localhost:8080, [::1]:8080) means http://, as `latchkey serve` prints it;
// the API's own prefix (/api/v1, copied from the docs or the OpenAPI
// document) is dropped since the client adds it. Any other host without a
// scheme is refused with the URL to type instead.
func normalizeServerURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", usageError("the server URL is empty: give one like https://latchkey.example.com")
	}
	if !strings.Contains(s, "://") {
		hostport, _, _ := strings.Cut(s, "/")
		host := hostport
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if isLoopback(host) {
			s = "http://" + s
		} else {
			return "", usageError("server URL %q has no scheme: write https://%s (or http://%s for a server without TLS)", raw, s, s)
		}
	}
	trimmed := strings.TrimRight(s, "/")
	for _, suffix := range []string{"/api/v1", "/api"} {
		if strings.HasSuffix(trimmed, suffix) {
			trimmed = strings.TrimSuffix(trimmed, suffix)
			break
		}
	}
	return trimmed, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
