package main

import (
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/rogpeppe/go-internal/testscript"
)

// startFakeServers gives scripts addresses that are not Latchkey:
// $HTMLURL, a web server answering every request with an HTML page, and
// $NOTHTTP, a TCP port that closes each connection at once without a word
// (as Redis does to an HTTP request).
func startFakeServers(env *testscript.Env) error {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>nginx</p></body></html>"))
	}))
	env.Defer(html.Close)
	env.Setenv("HTMLURL", html.URL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	env.Defer(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env.Setenv("NOTHTTP", ln.Addr().String())
	return nil
}
