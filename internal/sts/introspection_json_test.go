package sts_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/internal/sts"
)

// encodingJSON is how introspection answers were written before they had
// an encoder of their own, and what that encoder must match byte for byte.
func encodingJSON(t testing.TB, ans *sts.Introspection) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(ans); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkward are strings encoding/json escapes: quotes, backslashes, control
// characters, HTML, invalid UTF-8, the JavaScript line separators.
var awkward = []string{
	"", "plain", `say "hi"`, `back\slash`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "é ü 日本 🙂", "bad \xff\xfe utf8 \xc3", "\u2028\u2029", "end\xe2\x80",
}

func TestIntrospectionEncodesAsEncodingJSON(t *testing.T) {
	cases := []*sts.Introspection{
		{Active: false},
		{Active: true},
		{Active: true, Scope: "job repo:read=acme/*", ClientID: "tok_1", Username: "alice", TokenType: "Bearer",
			Exp: 1767225600, Iat: 1764547200, Sub: "usr_1", Iss: "https://latchkey.example.com", TokenID: "tok_1",
			Kind: "pat", Role: "member", IPAllowlist: []string{"192.0.2.0/24", "2001:db8::/32"}},
		{Active: true, Scope: "repo", Exp: -1, Iat: 1, Nbf: 9007199254740993, Aud: []string{"a", "b<c>"},
			Jti: "j", Kind: "jwt", Sub: "s", Iss: "i"},
		{Active: true, Aud: []string{}, IPAllowlist: []string{}},
	}
	for _, s := range awkward {
		cases = append(cases, &sts.Introspection{Active: true, Scope: s, ClientID: s, Username: s, TokenType: s,
			Sub: s, Aud: []string{s, s}, Iss: s, Jti: s, TokenID: s, Kind: s, Role: s, IPAllowlist: []string{s}})
	}
	for _, ans := range cases {
		if got, want := sts.EncodeIntrospection(ans), encodingJSON(t, ans); !bytes.Equal(got, want) {
			t.Errorf("encoded\n%s\nwant\n%s", got, want)
		}
	}
}

func FuzzIntrospectionEncodesAsEncodingJSON(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		ans := &sts.Introspection{Active: n%2 == 0, Scope: s, Username: s + "x", Exp: n, Aud: []string{s}, IPAllowlist: []string{s, ""}}
		if got, want := sts.EncodeIntrospection(ans), encodingJSON(t, ans); !bytes.Equal(got, want) {
			t.Errorf("encoded\n%s\nwant\n%s", got, want)
		}
	})
}

// TestIntrospectionEncoderKnowsEveryField sets every field of the answer:
// a field added to Introspection but not to its encoder fails here.
func TestIntrospectionEncoderKnowsEveryField(t *testing.T) {
	var ans sts.Introspection
	v := reflect.ValueOf(&ans).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Int64, reflect.Int:
			f.SetInt(int64(i + 1))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{v.Type().Field(i).Name}))
		default:
			t.Fatalf("field %s has a type (%s) the test and the encoder must learn", v.Type().Field(i).Name, f.Type())
		}
	}
	if got, want := sts.EncodeIntrospection(&ans), encodingJSON(t, &ans); !bytes.Equal(got, want) {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
}
