package main

import (
	"crypto/sha256"
	"net"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/token"
)

// floor is the reference server: a bare net/http server that answers 200
// when the bearer token's SHA-256 is in a Go map of the same tokens, and
// 401 otherwise. It is what verification over HTTP cannot beat: the same
// HTTP stack and the same hash, with nothing else.
type floor struct {
	srv *http.Server
	url string
}

func startFloor(digests map[token.Digest]struct{}) (*floor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, ok := digests[sha256.Sum256([]byte(secret))]; !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	f := &floor{srv: &http.Server{Handler: h}, url: "http://" + ln.Addr().String()}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *floor) close() { _ = f.srv.Close() }
