package sts

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The introspection form is read without r.ParseForm. A resource server
// may introspect on every request it serves, and for a body of which the
// handler reads two parameters, ParseForm built two maps (PostForm, and
// Form as its copy), grew a read buffer from 512 bytes and parsed the
// Content-Type into a third: 6.7% of the server's CPU when every answer
// came from the cache. readForm answers what ParseForm and PostForm.Get
// answered, error text included (introspection_form_test.go compares the
// two, and fuzzes the comparison).

// formType is the only media type whose body ParseForm reads.
const formType = "application/x-www-form-urlencoded"

// isFormBody reports whether a Content-Type may name a form body: it
// starts with formType in any letter case (media types are compared
// without regard to case, RFC 9110 §8.3.1, and ParseForm reads
// "Application/X-WWW-Form-Urlencoded" too). ParseForm then decides from
// the parsed media type whether it reads the body.
func isFormBody(ct string) bool {
	return len(ct) >= len(formType) && strings.EqualFold(ct[:len(formType)], formType)
}

// introspectionForm is what the handler reads of the request body.
type introspectionForm struct {
	// form is set when the Content-Type starts with formType: only then
	// is the token looked for.
	form bool
	// token and clientSecret are the first values of their parameters,
	// "" when absent (as url.Values.Get answers).
	token, clientSecret string
	// repeated names the first of repeatedNames sent more than once, ""
	// when none was.
	repeated string
}

// repeatedNames are the parameters the handler reads (token_type_hint only
// to refuse it twice), in the order a repeat is reported. RFC 6749 §3.2
// says a parameter is sent at most once; taking the first of two tokens
// would answer for a token the resource server may not have meant, since
// another reader of the same body (a proxy, a WAF, a framework that keeps
// the last value) can take the other.
var repeatedNames = [...]string{"token", "token_type_hint", "client_secret"}

// readForm reads r's form body of at most limit bytes as the handler read
// it with r.ParseForm: a body is read only if its Content-Type starts
// with formType, through http.MaxBytesReader, and then only if
// mime.ParseMediaType names formType; a malformed Content-Type, a body
// that cannot be read or decoded, or a query string that cannot be
// decoded is an error, in that order.
func (in *Introspector) readForm(w http.ResponseWriter, r *http.Request, limit int64) (introspectionForm, error) {
	if r.PostForm != nil || r.Form != nil {
		return readParsedForm(w, r, limit)
	}
	ct := r.Header.Get("Content-Type")
	if !isFormBody(ct) {
		return introspectionForm{}, nil
	}
	f := introspectionForm{form: true}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mediaType, ctErr := formMediaType(ct)
	if mediaType != formType {
		// ParseForm leaves PostForm empty and reads nothing: a type such
		// as application/x-www-form-urlencodedx is no form, but no error.
		if ctErr != nil {
			return f, ctErr
		}
		return f, queryErr(r)
	}
	bp := in.bufs.get()
	body, err := readFormBody(r.Body, (*bp)[:0], r.ContentLength, limit)
	switch {
	case ctErr != nil:
		// The body is read all the same, as ParseForm reads it, so the
		// connection is left as ParseForm left it.
		err = ctErr
	case err == nil:
		err = formFields(body, &f)
	}
	// formFields copied what it kept. The secrets go before the buffer
	// is pooled, where it outlives the request.
	clear(body)
	*bp = body[:0]
	in.bufs.put(bp)
	if err != nil {
		return f, err
	}
	return f, queryErr(r)
}

// readParsedForm is how the handler read its form before readForm. It
// serves requests whose form something before the handler parsed (nothing
// in Latchkey does): ParseForm keeps what it finds there, which readForm
// does not know how to mimic.
func readParsedForm(w http.ResponseWriter, r *http.Request, limit int64) (introspectionForm, error) {
	f := introspectionForm{form: strings.HasPrefix(r.Header.Get("Content-Type"), formType)}
	if f.form {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseForm(); err != nil {
			return f, err
		}
		f.token = r.PostForm.Get("token")
	}
	f.clientSecret = r.PostForm.Get("client_secret")
	for _, name := range repeatedNames {
		if (f.form || name == "client_secret") && len(r.PostForm[name]) > 1 {
			f.repeated = name
			break
		}
	}
	return f, nil
}

// formMediaType is mime.ParseMediaType's media type and error for ct, with
// the Content-Types that clients send spelled out so that they cost no
// parsing (and no map of parameters).
func formMediaType(ct string) (string, error) {
	switch ct {
	case formType, formType + "; charset=utf-8", formType + "; charset=UTF-8",
		formType + ";charset=utf-8", formType + ";charset=UTF-8":
		return formType, nil
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	return mediaType, err
}

// queryErr is the error ParseForm reports for r's query string once the
// body was read without one. An empty query is parsed only if
// url.ParseQuery refuses even one parameter (GODEBUG=urlmaxqueryparams=1).
func queryErr(r *http.Request) error {
	if r.URL == nil || r.URL.RawQuery == "" && refusedAmpersands() > 0 {
		return nil
	}
	_, err := url.ParseQuery(r.URL.RawQuery)
	return err
}

// readFormBody reads r to its end into buf as io.ReadAll does, returning
// the same bytes and error. A declared length within limit sizes buf
// once, with a byte to spare so that the read which finds the end of the
// body finds room; it is only a hint, so a wrong one changes nothing.
func readFormBody(r io.Reader, buf []byte, declared, limit int64) ([]byte, error) {
	if declared >= 0 && declared <= limit {
		buf = slices.Grow(buf, int(declared)+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// formFields sets f's token and client_secret to their first values in
// body, as url.ParseQuery and url.Values.Get would, and f.repeated, or
// returns url.ParseQuery's error. Only their values are copied out of body
// (one allocation each), so body's buffer can be reused and a cache keyed
// by the token does not keep the body. The values are unescaped in place
// in body. The whole body is read, to find a parameter sent twice.
func formFields(body []byte, f *introspectionForm) error {
	if !decodable(body) {
		// Rare, and refused: url.ParseQuery says what is wrong, in the
		// words the handler has always answered with.
		vs, err := url.ParseQuery(string(body))
		f.token, f.clientSecret = vs.Get("token"), vs.Get("client_secret")
		return err
	}
	var seen [len(repeatedNames)]int
	for rest := body; len(rest) > 0; {
		pair := rest
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		key, value := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key, value = pair[:i], pair[i+1:]
		}
		for i, name := range repeatedNames {
			if !unescapesTo(key, name) {
				continue
			}
			seen[i]++
			switch {
			case seen[i] > 1:
			case name == "token":
				f.token = unescapeInPlace(value)
			case name == "client_secret":
				f.clientSecret = unescapeInPlace(value)
			}
			break
		}
	}
	for i, n := range seen {
		if n > 1 {
			f.repeated = repeatedNames[i]
			break
		}
	}
	return nil
}

// decodable reports whether url.ParseQuery decodes body without error. It
// fails on a ';' in any pair, on a '%' not followed by two hex digits in
// any key or value, and on more parameters than it allows. A pair's key
// and value end at '=' or '&', neither a hex digit, so checking every '%'
// of the whole body checks every key and value.
func decodable(body []byte) bool {
	if bytes.IndexByte(body, ';') >= 0 || bytes.Count(body, []byte{'&'}) >= refusedAmpersands() {
		return false
	}
	for i := bytes.IndexByte(body, '%'); i >= 0; {
		if i+2 >= len(body) || !isHex(body[i+1]) || !isHex(body[i+2]) {
			return false
		}
		j := bytes.IndexByte(body[i+3:], '%')
		if j < 0 {
			break
		}
		i += 3 + j
	}
	return true
}

// refusedAmpersands is the fewest '&' in a body of at most maxFormBytes
// that url.ParseQuery refuses as too many parameters, or maxFormBytes+1
// if it refuses none. The limit is asked of url.ParseQuery once rather
// than assumed (10000 parameters) because GODEBUG=urlmaxqueryparams, or a
// newer Go, may change it.
var refusedAmpersands = sync.OnceValue(func() int {
	amps := strings.Repeat("&", maxFormBytes)
	return sort.Search(maxFormBytes+1, func(n int) bool {
		_, err := url.ParseQuery(amps[:n])
		return err != nil
	})
})

// unescapesTo reports whether key, unescaped as url.QueryUnescape would,
// is name, without unescaping it into new memory. key's escapes are valid
// (decodable).
func unescapesTo(key []byte, name string) bool {
	j := 0
	for i := 0; i < len(key); j++ {
		c := key[i]
		switch c {
		case '%':
			c = unhex(key[i+1])<<4 | unhex(key[i+2])
			i += 3
		case '+':
			c = ' '
			i++
		default:
			i++
		}
		if j >= len(name) || name[j] != c {
			return false
		}
	}
	return j == len(name)
}

// unescapeInPlace unescapes v as url.QueryUnescape would, into v itself
// (the result is never longer), and returns it as a string. v's escapes
// are valid (decodable).
func unescapeInPlace(v []byte) string {
	if bytes.IndexByte(v, '%') < 0 && bytes.IndexByte(v, '+') < 0 {
		return string(v)
	}
	j := 0
	for i := 0; i < len(v); j++ {
		switch v[i] {
		case '%':
			v[j] = unhex(v[i+1])<<4 | unhex(v[i+2])
			i += 3
		case '+':
			v[j] = ' '
			i++
		default:
			v[j] = v[i]
			i++
		}
	}
	return string(v[:j])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
