package middleware

import (
	"encoding/json"
	"net/http"
	"strings"
)

// problem is an RFC 9457 problem detail.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// challenge answers 401 or 403 with an RFC 6750 Bearer challenge. code is
// empty when the request carried no credential at all (RFC 6750 §3.1).
func challenge(w http.ResponseWriter, realm string, status int, code, detail string, params ...string) {
	v := `Bearer realm="` + quoted(realm) + `"`
	if code != "" {
		v += `, error="` + code + `", error_description="` + quoted(detail) + `"`
	}
	for i := 0; i+1 < len(params); i += 2 {
		v += ", " + params[i] + `="` + quoted(params[i+1]) + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	writeProblem(w, status, detail)
}

// quoted makes s safe inside a quoted-string of a header.
func quoted(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '\''
		}
		return r
	}, s)
}
