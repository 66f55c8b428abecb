package sts_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/latchkey/latchkey/internal/sts"
)

// formRequest is one request whose form body the handler reads: the
// fuzzer's input, and a seed of it.
type formRequest struct {
	contentType string
	body        string
	length      int64  // r.ContentLength: len(body), -1 (unknown), or a lie
	query       string // r.URL.RawQuery
	quirks      uint8  // the quirk flags below
	limit       uint16 // the body limit; 0 means the handler's, sts.MaxFormBytes
}

// Quirks of a body in transit, which a reader must survive as ParseForm does.
const (
	oneByteReads uint8 = 1 << iota // the body arrives a byte per Read
	dataWithEOF                    // the last bytes arrive with io.EOF
	brokenBody                     // half the body, then io.ErrUnexpectedEOF (a dropped client)
	parsedBefore                   // something before the handler parsed the form
)

// formOutcome is what the handler goes on with: the error it quotes in
// error_description, or whether the body was a form, its first token and
// client_secret, and the parameter it refuses as repeated. consumed counts
// the bytes read from the connection.
type formOutcome struct {
	err                 string
	form                bool
	token, clientSecret string
	repeated            string
	consumed            int64
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return nil }

// request builds fr as the server would hand it to the handler.
func (fr formRequest) request() (*http.Request, *countingReader) {
	var body io.Reader = strings.NewReader(fr.body)
	if fr.quirks&brokenBody != 0 {
		body = io.MultiReader(strings.NewReader(fr.body[:len(fr.body)/2]), iotest.ErrReader(io.ErrUnexpectedEOF))
	}
	if fr.quirks&oneByteReads != 0 {
		body = iotest.OneByteReader(body)
	}
	if fr.quirks&dataWithEOF != 0 {
		body = iotest.DataErrReader(body)
	}
	c := &countingReader{r: body}
	r := &http.Request{
		Method: http.MethodPost, URL: &url.URL{Path: sts.IntrospectPath, RawQuery: fr.query},
		Header: http.Header{}, Body: c, ContentLength: fr.length,
	}
	if fr.contentType != "" {
		r.Header.Set("Content-Type", fr.contentType)
	}
	if fr.quirks&parsedBefore != 0 {
		r.PostForm = url.Values{"token": {"parsed-before"}, "client_secret": {"posted-before"}}
	}
	return r, c
}

func (fr formRequest) maxBytes() int64 {
	if fr.limit == 0 {
		return sts.MaxFormBytes
	}
	return int64(fr.limit)
}

// readAsBefore is how the handler read its form before Introspector.ReadForm:
// r.ParseForm behind the Content-Type prefix check (in any letter case, as
// media types are compared) and the body limit.
func readAsBefore(fr formRequest) formOutcome {
	r, c := fr.request()
	var out formOutcome
	ct, prefix := r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"
	out.form = len(ct) >= len(prefix) && strings.EqualFold(ct[:len(prefix)], prefix)
	if out.form {
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, fr.maxBytes())
		if err := r.ParseForm(); err != nil {
			return formOutcome{err: err.Error(), form: true, consumed: c.n}
		}
		out.token = r.PostForm.Get("token")
	}
	out.clientSecret, out.consumed = r.PostForm.Get("client_secret"), c.n
	for _, name := range []string{"token", "token_type_hint", "client_secret"} {
		if (out.form || name == "client_secret") && len(r.PostForm[name]) > 1 {
			out.repeated = name
			break
		}
	}
	return out
}

func readNow(in *sts.Introspector, fr formRequest) formOutcome {
	r, c := fr.request()
	form, token, secret, repeated, err := in.ReadFormRepeated(httptest.NewRecorder(), r, fr.maxBytes())
	if err != nil {
		return formOutcome{err: err.Error(), form: form, consumed: c.n}
	}
	return formOutcome{form: form, token: token, clientSecret: secret, repeated: repeated, consumed: c.n}
}

// checkSameAsParseForm fails t unless the handler reads fr as it did with
// ParseForm. The Introspector is shared so that its pooled buffers carry
// the bytes of earlier bodies, as they do in a server.
func checkSameAsParseForm(t *testing.T, in *sts.Introspector, fr formRequest) {
	t.Helper()
	if got, want := readNow(in, fr), readAsBefore(fr); got != want {
		t.Errorf("Content-Type %q, body %.200q (%d bytes, length %d), query %q, quirks %b, limit %d:\nread as  %+v\nParseForm %+v",
			fr.contentType, fr.body, len(fr.body), fr.length, fr.query, fr.quirks, fr.maxBytes(), got, want)
	}
}

const form = "application/x-www-form-urlencoded"

// formSeeds are realistic and hostile requests: the differential test's
// table and the fuzzer's seeds.
func formSeeds() []formRequest {
	huge := "token=" + strings.Repeat("a", 70_000)
	atLimit := "token=" + strings.Repeat("a", sts.MaxFormBytes-len("token="))
	params := func(n int) string { return strings.Repeat("a&", n-1) + "token=x" }
	var seeds []formRequest
	for _, ct := range []string{
		form, form + "; charset=utf-8", form + ";charset=UTF-8", form + "; charset=iso-8859-1", form + `; charset="utf-8"`,
		"Application/X-WWW-Form-Urlencoded", form + ";;", ";;", "", "application/json", "multipart/form-data; boundary=x",
		form + "; charset", form + "; a=1; a=2", form + "; a=1; a=1", form + "/json", form + "x", form + " x", form + ", text/plain",
		form + " ; charset=utf-8", form + "; charset=utf-8;",
	} {
		seeds = append(seeds, formRequest{contentType: ct, body: "token=abc&client_secret=s3cret", length: -1})
	}
	for _, body := range []string{
		"", "token", "token=", "=token", "&&token=x&&", "token=a=b", "token=abc", "token=abc&client_secret=s3cret",
		"token=a;b", "a=1;token=x", "token=x&a;b", "token=x&%zz=1", "token=x&a;b&c=%zz", "token=x&c=%zz&a;b",
		"token=%zz", "tok%zzen=x", "token=x&y=%z", "token=x%", "token=x%4", "token=x%4g", "token=%%41", "%=x&token=y",
		"token=%00", "token=a%00b", "token=%E2%82%AC", "token=%e2%82%ac", "token=%FF",
		"token=a&token=b", "token=&token=b", "token&token=b", "client_secret=1&client_secret=2&token=t",
		"tok%65n=x", "%74oken=x", "%74%6F%6B%65%6E=x", "client%5Fsecret=y&token=t", "tok+en=x", "token+=x", "token%20=x",
		"token=a+b", "token=a%2Bb", "token=+", "token=%2B%2b", "client_secret=a+b&token=t",
		"token=a&token_type_hint=access_token&token_type_hint=refresh_token", "token_type_hint=x&tok%65n=a&%74oken=b",
		"client_secret=1&token=a&client_secret=2&token=b", "token=a&token_type_hint=x&token_type_hint",
		huge, atLimit, atLimit + "a", params(10_000), params(10_001),
	} {
		seeds = append(seeds,
			formRequest{contentType: form, body: body, length: int64(len(body))},
			formRequest{contentType: form, body: body, length: -1})
	}
	body := "token=abc&client_secret=s3cret"
	return append(seeds,
		formRequest{contentType: form, body: body, length: 3},
		formRequest{contentType: form, body: body, length: 100_000},
		formRequest{contentType: form, body: body, length: 1 << 62},
		formRequest{contentType: form, body: body, length: -1, query: "a=%zz"},
		formRequest{contentType: form, body: body, length: -1, query: "a=1;b=2"},
		formRequest{contentType: form, body: "token=%zz", length: -1, query: "a=1;b=2"},
		formRequest{contentType: form + "x", body: body, length: -1, query: "a=%zz"},
		formRequest{contentType: form + ";;", body: body, length: -1, query: "a=%zz"},
		formRequest{contentType: "text/plain", body: body, length: -1, query: "a=%zz"},
		formRequest{contentType: form, body: body, length: -1, query: "scope=x"},
		formRequest{contentType: form, body: body, length: -1, quirks: oneByteReads},
		formRequest{contentType: form, body: body, length: int64(len(body)), quirks: dataWithEOF},
		formRequest{contentType: form, body: body, length: int64(len(body)), quirks: brokenBody},
		formRequest{contentType: form + ";;", body: body, length: -1, quirks: brokenBody},
		formRequest{contentType: form, body: huge, length: -1, quirks: oneByteReads | dataWithEOF},
		formRequest{contentType: form, body: body, length: -1, quirks: parsedBefore},
		formRequest{contentType: "text/plain", body: body, length: -1, quirks: parsedBefore},
		formRequest{contentType: form, body: body, length: int64(len(body)), limit: uint16(len(body))},
		formRequest{contentType: form, body: body, length: int64(len(body)), limit: uint16(len(body) - 1)},
		formRequest{contentType: form, body: body, length: -1, limit: 1},
	)
}

func TestIntrospectionFormIsReadAsParseFormReadIt(t *testing.T) {
	in := new(sts.Introspector)
	for _, fr := range formSeeds() {
		checkSameAsParseForm(t, in, fr)
	}
	// The seeds must reach every outcome, or the comparison proves little.
	seen := map[string]bool{}
	for _, fr := range formSeeds() {
		o := readAsBefore(fr)
		seen[strconv.FormatBool(o.form)+" "+strconv.FormatBool(o.token != "")+" "+strconv.FormatBool(o.clientSecret != "")] = true
		if i := strings.IndexAny(o.err, `"(`); i > 0 {
			o.err = o.err[:i]
		}
		seen[o.err] = true
		seen["repeated "+o.repeated] = true
	}
	for _, want := range []string{
		"true true true", "true false false", "false false false", "false false true",
		"repeated ", "repeated token", "repeated token_type_hint", "repeated client_secret",
		"invalid semicolon separator in query", "invalid URL escape ", "http: request body too large",
		"mime: invalid media parameter", "mime: duplicate parameter name", "mime: unexpected content after media subtype",
		"number of URL query parameters exceeded limit", "unexpected EOF",
	} {
		if !seen[want] {
			t.Errorf("no seed reaches %q", want)
		}
	}
}

// FuzzIntrospectionForm compares Introspector.ReadForm with ParseForm on
// any request. Inputs grown from the 64 KiB seeds take the default minute
// each to minimize, so give minimizing less:
//
//	go test -run '^$' -fuzz FuzzIntrospectionForm -fuzztime 60s -fuzzminimizetime 2s ./internal/sts
func FuzzIntrospectionForm(f *testing.F) {
	for _, fr := range formSeeds() {
		f.Add(fr.contentType, []byte(fr.body), fr.length, fr.query, fr.quirks, fr.limit)
	}
	in := new(sts.Introspector)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, length int64, query string, quirks uint8, limit uint16) {
		checkSameAsParseForm(t, in, formRequest{contentType, string(body), length, query, quirks, limit})
	})
}

// BenchmarkIntrospectionForm reads the form body of an introspection
// request as the handler did (ParseForm) and does (ReadForm), for a PAT
// and for a JWT-sized token, with the length declared as clients do.
func BenchmarkIntrospectionForm(b *testing.B) {
	in := new(sts.Introspector)
	for _, size := range []struct {
		name  string
		token string
	}{
		{"pat", "lk_pat_" + strings.Repeat("x", 43)},
		{"jwt", strings.Repeat("eyJhbGciOiJFUzI1NiJ9.", 50)},
	} {
		body := url.Values{"token": {size.token}}.Encode()
		for _, reader := range []struct {
			name string
			read func(w http.ResponseWriter, r *http.Request) (string, error)
		}{
			{"ParseForm", func(w http.ResponseWriter, r *http.Request) (string, error) {
				r.Body = http.MaxBytesReader(w, r.Body, sts.MaxFormBytes)
				err := r.ParseForm()
				return r.PostForm.Get("token"), err
			}},
			{"ReadForm", func(w http.ResponseWriter, r *http.Request) (string, error) {
				_, token, _, err := in.ReadForm(w, r, sts.MaxFormBytes)
				return token, err
			}},
		} {
			b.Run(size.name+"/"+reader.name, func(b *testing.B) {
				w := httptest.NewRecorder()
				c := &countingReader{}
				r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: sts.IntrospectPath},
					Header: http.Header{"Content-Type": {form}}, ContentLength: int64(len(body))}
				src := strings.NewReader(body)
				b.ReportAllocs()
				for b.Loop() {
					src.Reset(body)
					c.r = src
					r.Body, r.PostForm, r.Form = c, nil, nil
					if token, err := reader.read(w, r); err != nil || token != size.token {
						b.Fatalf("token %.20q..., error %v", token, err)
					}
				}
			})
		}
	}
}

// TestIntrospectionAnswersEveryFormAsItDidWithParseForm pins the answers of
// the handler, on a real server, to the forms whose reading changed: the
// same status, error and error_description as when it called ParseForm.
func TestIntrospectionAnswersEveryFormAsItDidWithParseForm(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	caller := patFor(t, s, admin, "resource-server", []string{"introspect"}).Secret
	subject := patFor(t, s, admin, "subject", []string{"repo"}).Secret
	repeated := func(name string) string { return "parameter " + name + " is repeated; send it once" }
	unreadable := func(why string) string {
		return "the form body could not be read (" + why + "); send token=<token> form-encoded, at most 64 KiB"
	}
	const (
		notAForm     = "send the body as application/x-www-form-urlencoded with a token parameter"
		noToken      = "the token parameter is required: send token=<token> in the form body"
		unauthorized = "authenticate with a token that holds the introspect scope: HTTP Basic with the token as client secret (client_secret_basic), or Authorization: Bearer <token>"
	)
	for _, c := range []struct {
		name, contentType, body string
		bearer                  bool
		status                  int
		code, description       string // code "active" or "inactive" for 200
	}{
		{"form", form, "token=" + subject, true, 200, "active", ""},
		{"form with charset", form + "; charset=utf-8", "token=" + subject, true, 200, "active", ""},
		{"two tokens", form, "token=" + subject + "&token=nonsense", true, 400, "invalid_request", repeated("token")},
		{"two tokens, the valid one last", form, "token=nonsense&token=" + subject, true, 400, "invalid_request", repeated("token")},
		{"two tokens, one escaped", form, "token=" + subject + "&tok%65n=" + subject, true, 400, "invalid_request", repeated("token")},
		{"two hints", form, "token=" + subject + "&token_type_hint=access_token&token_type_hint=refresh_token", true, 400, "invalid_request", repeated("token_type_hint")},
		{"one hint", form, "token=" + subject + "&token_type_hint=access_token", true, 200, "active", ""},
		{"escaped key", form, "tok%65n=" + subject, true, 200, "active", ""},
		{"plus is a space", form, "token=" + subject + "+", true, 200, "inactive", ""},
		{"first token empty", form, "token=&token=" + subject, true, 400, "invalid_request", repeated("token")},
		{"no token", form, "token_type_hint=access_token", true, 400, "invalid_request", noToken},
		{"empty body", form, "", true, 400, "invalid_request", noToken},
		{"semicolon", form, "token=" + subject + ";x", true, 400, "invalid_request", unreadable("invalid semicolon separator in query")},
		{"bad escape", form, "token=%zz", true, 400, "invalid_request", unreadable(`invalid URL escape "%zz"`)},
		{"bad escape elsewhere", form, "token=" + subject + "&x=%4", true, 400, "invalid_request", unreadable(`invalid URL escape "%4"`)},
		{"over 64 KiB", form, "token=" + strings.Repeat("a", 70_000), true, 400, "invalid_request", unreadable("http: request body too large")},
		{"too many parameters", form, strings.Repeat("a&", 10_000) + "token=" + subject, true, 400, "invalid_request",
			unreadable("number of URL query parameters exceeded limit")},
		{"malformed Content-Type", form + ";;", "token=" + subject, true, 400, "invalid_request", unreadable("mime: invalid media parameter")},
		{"another subtype", form + "x", "token=" + subject, true, 400, "invalid_request", noToken},
		{"uppercase media type", "Application/X-WWW-Form-Urlencoded", "token=" + subject, true, 200, "active", ""},
		{"no Content-Type", "", "token=" + subject, true, 400, "invalid_request", notAForm},
		{"client_secret_post", form, "client_secret=" + caller + "&token=" + subject, false, 200, "active", ""},
		{"client_secret_post, first secret empty", form, "client_secret=&client_secret=" + caller + "&token=" + subject, false, 400, "invalid_request", repeated("client_secret")},
		{"client_secret_post, two secrets", form, "client_secret=" + caller + "&client_secret=nonsense&token=" + subject, false, 400, "invalid_request", repeated("client_secret")},
		{"client_secret_post outside a form", "text/plain", "client_secret=" + caller + "&token=" + subject, false, 401, "invalid_client", unauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.URL+sts.IntrospectPath, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.bearer {
				req.Header.Set("Authorization", "Bearer "+caller)
			}
			resp, err := s.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
			}
			got := out["error"]
			if resp.StatusCode == http.StatusOK {
				got = map[bool]string{true: "active", false: "inactive"}[out["active"] == true]
			}
			if resp.StatusCode != c.status || got != c.code || c.description != "" && out["error_description"] != c.description {
				t.Errorf("%d %v, want %d %s %q", resp.StatusCode, out, c.status, c.code, c.description)
			}
		})
	}
}
