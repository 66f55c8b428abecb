package api

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/latchkey/latchkey/internal/auth"
)

// The /api/v1/me answer of a cached credential is a pure function of its
// Principal, apart from three fields of the token that follow the policy
// and the clock (state, expires_at, grace_expires_at), and of the $schema
// URL, which follows the request's host. Encoding it with encoding/json
// after huma's schema-link transformer copied it into a reflect-built type
// was a fifth of the request's CPU. So the body after $schema is encoded
// once per Principal and kept on it (Principal.Memo) with the three fields
// it was encoded with; the $schema URL and Link header are huma's own
// schema-link transformer's, kept for the last origin (see origin), and
// the answer is {"$schema":URL, followed by the
// kept bytes. TestMeAnswerIsHumas proves the bytes and headers equal
// huma's for hosts, forwarded hosts and TLS, alone and interleaved.

// meEncoded is one Principal's /api/v1/me body without $schema: rest is
// `"user":...}` and a newline, as encoding/json ends it.
type meEncoded struct {
	state   string
	expires time.Time // zero: none
	grace   time.Time // zero: none
	rest    []byte
}

// encodedMe returns body encoded, from p's memo when it was encoded with
// the same token state, expiry and grace. Otherwise it calls complete,
// which may finish body, then encodes it and keeps it on p.
func encodedMe(p *auth.Principal, body *meOutputBody, complete func()) *meEncoded {
	var k meEncoded
	if t := body.Token; t != nil {
		k.state = t.State
		if t.ExpiresAt != nil {
			k.expires = *t.ExpiresAt
		}
		if t.GraceExpiresAt != nil {
			k.grace = *t.GraceExpiresAt
		}
	}
	if e, ok := p.Memo().Load().(*meEncoded); ok && e.state == k.state && e.expires.Equal(k.expires) && e.grace.Equal(k.grace) {
		return e
	}
	complete()
	plain := *body
	plain.encoded = nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as huma.DefaultJSONFormat
	if err := enc.Encode(plain); err != nil || buf.Len() < 2 || buf.Bytes()[0] != '{' {
		return nil // huma encodes it (and reports the error)
	}
	k.rest = buf.Bytes()[1:]
	p.Memo().Store(&k)
	return &k
}

// encodedBody is a whole /api/v1/me body, which the JSON format writes as
// is: head, `{"$schema":URL,`, then rest, the Principal's kept bytes. It is
// written in two parts rather than copied into one slice per request.
type encodedBody struct {
	head, rest []byte
}

// withMeEncoder sets up cfg as huma.DefaultConfig does (a schema-link
// transformer, so the OpenAPI document is the same, building its URLs from
// origin), with the encoded
// /api/v1/me answer before it and a JSON format that writes it.
func (a *API) withMeEncoder(cfg *huma.Config) {
	cfg.CreateHooks = []func(huma.Config) huma.Config{func(c huma.Config) huma.Config {
		link := huma.NewSchemaLinkTransformer("#/components/schemas/", c.SchemasPath)
		c.OnAddOperation = append(c.OnAddOperation, link.OnAddOperation)
		transform := a.originTransform(link)
		c.Transformers = append(c.Transformers, a.meTransformer(transform), transform)
		return c
	}}
	format := huma.Format{Marshal: marshalJSON, Unmarshal: unmarshalJSON}
	cfg.Formats = map[string]huma.Format{"application/json": format, "json": format}
}

// schemaLink is what the schema-link transformer gave one kind of request
// for the /api/v1/me body: the body's head with the $schema URL, and the
// Link header it added. The URL depends only on the request's origin and
// the operation; those are its key.
type schemaLink struct {
	scheme, host, op string
	head             []byte // {"$schema":URL,
	link             string
}

// meTransformer turns an encoded /api/v1/me body into an encodedBody,
// with the $schema URL and Link header link gives the body's type. What
// link gave the last kind of request is kept (one, so a client sending
// odd hosts grows nothing): asking it again on every request, through
// reflection, was a twentieth of the answer's CPU.
func (a *API) meTransformer(link huma.Transformer) huma.Transformer {
	var last atomic.Pointer[schemaLink]
	return func(ctx huma.Context, status string, v any) (any, error) {
		b, ok := v.(meOutputBody)
		if !ok || b.encoded == nil {
			return v, nil
		}
		var op string
		if o := ctx.Operation(); o != nil {
			op = o.OperationID
		}
		scheme, host := a.requestOrigin(ctx)
		if l := last.Load(); l != nil && l.scheme == scheme && l.host == host && l.op == op {
			ctx.AppendHeader("Link", l.link)
			return encodedBody{head: l.head, rest: b.encoded.rest}, nil
		}
		// An empty body of the same type: huma copies nothing worth
		// copying, sets $schema and adds the Link header.
		t, err := link(ctx, status, meOutputBody{})
		if err != nil {
			return nil, err
		}
		tv := reflect.ValueOf(t)
		if tv.Kind() != reflect.Pointer || tv.Elem().Kind() != reflect.Struct || tv.Elem().NumField() == 0 ||
			tv.Elem().Type().Field(0).Tag.Get("json") != "$schema" {
			return v, nil // no schema link: huma encodes the body
		}
		l := &schemaLink{scheme: scheme, host: host, op: op}
		l.head = append(l.head, `{"$schema":`...)
		l.head = appendJSONString(l.head, tv.Elem().Field(0).String())
		l.head = append(l.head, ',')
		if _, w := humago.Unwrap(ctx); w != nil {
			if links := w.Header().Values("Link"); len(links) > 0 {
				l.link = links[len(links)-1] // the one link just added
				last.Store(l)
			}
		}
		return encodedBody{head: l.head, rest: b.encoded.rest}, nil
	}
}

// appendJSONString appends s as encoding/json writes it without HTML
// escaping.
func appendJSONString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			return append(out, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}

// marshalJSON is huma.DefaultJSONFormat's Marshal, writing an encodedBody
// as is.
func marshalJSON(w io.Writer, v any) error {
	if e, ok := v.(encodedBody); ok {
		if _, err := w.Write(e.head); err != nil {
			return err
		}
		_, err := w.Write(e.rest)
		return err
	}
	return huma.DefaultJSONFormat.Marshal(w, v)
}
