package sts

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Introspection answers are the hottest JSON Latchkey writes (a resource
// server may introspect on every request it serves), so they are encoded
// by appending their fixed shape to a pooled buffer instead of through
// encoding/json's reflection. The bytes are the same as
// json.NewEncoder(w).Encode(ans): field order, omitempty, HTML-safe
// string escaping and the final newline (introspection_json_test.go
// compares the two).

// answerBufs keeps encoding buffers between answers. Write does not keep
// the slice it is given (io.Writer), so a buffer is free again on return.
// readForm reads form bodies into them too: it copies out what it keeps.
type answerBufs struct{ pool sync.Pool }

func (a *answerBufs) get() *[]byte {
	if bp, ok := a.pool.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 512)
	return &b
}

func (a *answerBufs) put(bp *[]byte) {
	if cap(*bp) <= 64<<10 { // the buffer of an answer with a huge allowlist is not kept
		a.pool.Put(bp)
	}
}

// answerHeader holds the header values of every answer, shared read-only:
// net/http copies the header map when the status is written.
var answerHeader = struct{ contentType, cacheControl, pragma []string }{
	[]string{"application/json"}, []string{"no-store"}, []string{"no-cache"},
}

// writeIntrospection answers 200 with ans, as writeJSON would.
func (in *Introspector) writeIntrospection(w http.ResponseWriter, ans *Introspection) {
	h := w.Header()
	h["Content-Type"] = answerHeader.contentType
	h["Cache-Control"] = answerHeader.cacheControl
	h["Pragma"] = answerHeader.pragma
	w.WriteHeader(http.StatusOK)
	bp := in.bufs.get()
	*bp = ans.appendJSON((*bp)[:0])
	_, _ = w.Write(*bp)
	in.bufs.put(bp)
}

// appendJSON appends ans as encoding/json encodes it, newline included.
func (ans *Introspection) appendJSON(b []byte) []byte {
	b = append(b, `{"active":`...)
	b = strconv.AppendBool(b, ans.Active)
	b = appendStringField(b, "scope", ans.Scope)
	b = appendStringField(b, "client_id", ans.ClientID)
	b = appendStringField(b, "username", ans.Username)
	b = appendStringField(b, "token_type", ans.TokenType)
	b = appendIntField(b, "exp", ans.Exp)
	b = appendIntField(b, "iat", ans.Iat)
	b = appendIntField(b, "nbf", ans.Nbf)
	b = appendStringField(b, "sub", ans.Sub)
	b = appendListField(b, "aud", ans.Aud)
	b = appendStringField(b, "iss", ans.Iss)
	b = appendStringField(b, "jti", ans.Jti)
	b = appendStringField(b, "token_id", ans.TokenID)
	b = appendStringField(b, "kind", ans.Kind)
	b = appendStringField(b, "role", ans.Role)
	b = appendListField(b, "ip_allowlist", ans.IPAllowlist)
	return append(b, "}\n"...)
}

// appendStringField appends ,"name":"v" unless v is empty (omitempty).
func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = appendName(b, name)
	return appendJSONString(b, v)
}

// appendIntField appends ,"name":v unless v is zero (omitempty).
func appendIntField(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	b = appendName(b, name)
	return strconv.AppendInt(b, v, 10)
}

// appendListField appends ,"name":[...] unless vs is empty (omitempty).
func appendListField(b []byte, name string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = appendName(b, name)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendName appends ,"name": for a name that needs no escaping.
func appendName(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does with HTML
// escaping on (its default): ", \ and control characters escaped, <, >
// and & as \u003c, \u003e, \u0026, invalid UTF-8 as \ufffd, and U+2028
// and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
