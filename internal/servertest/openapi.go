package servertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every answer a test receives through Server.Client (and so Do, JSON and
// the API tests' own client) is checked against the server's own OpenAPI
// document: when the document declares a JSON schema for the operation,
// status and media type, the body must match it. A mismatch fails the test
// at its end, listing each request and what was wrong, so a response that
// generated clients could not decode never goes unnoticed.

// schemaChecker validates response bodies against one OpenAPI document.
type schemaChecker struct {
	base string // the server's URL

	once  sync.Once
	err   error
	doc   map[string]any
	paths []pathTemplate
	comp  *jsonschema.Compiler

	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema
	failures []string
}

// pathTemplate is one path of the document, as a regexp over request paths.
type pathTemplate struct {
	template string
	re       *regexp.Regexp
	params   int
}

const docURL = "mem:///openapi.json"

func (c *schemaChecker) load(rt http.RoundTripper) error {
	c.once.Do(func() {
		req, err := http.NewRequest(http.MethodGet, c.base+"/api/v1/openapi.json", nil)
		if err != nil {
			c.err = err
			return
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			c.err = fmt.Errorf("fetch the OpenAPI document: %w", err)
			return
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			c.err = fmt.Errorf("fetch the OpenAPI document: status %d, %v", resp.StatusCode, err)
			return
		}
		if err := json.Unmarshal(raw, &c.doc); err != nil {
			c.err = fmt.Errorf("decode the OpenAPI document: %w", err)
			return
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			c.err = err
			return
		}
		c.comp = jsonschema.NewCompiler()
		c.comp.DefaultDraft(jsonschema.Draft2020)
		if err := c.comp.AddResource(docURL, inst); err != nil {
			c.err = fmt.Errorf("load the OpenAPI document as a schema resource: %w", err)
			return
		}
		paths, _ := c.doc["paths"].(map[string]any)
		for p := range paths {
			n := strings.Count(p, "{")
			pattern := regexp.MustCompile(`\\\{[^}]*\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`)
			c.paths = append(c.paths, pathTemplate{template: p, re: regexp.MustCompile("^" + pattern + "$"), params: n})
		}
		// Literal paths win over templated ones (/tokens/new over /tokens/{id}).
		sort.Slice(c.paths, func(i, j int) bool { return c.paths[i].params < c.paths[j].params })
		c.compiled = map[string]*jsonschema.Schema{}
	})
	return c.err
}

// pointerEscape escapes a JSON-pointer token.
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// check validates one answer; it returns "" when the body matches (or the
// document declares no JSON schema for it).
func (c *schemaChecker) check(method, path string, status int, header http.Header, body []byte) string {
	var tmpl string
	for _, p := range c.paths {
		if p.re.MatchString(path) {
			tmpl = p.template
			break
		}
	}
	if tmpl == "" {
		return ""
	}
	op, _ := c.doc["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	responses, _ := op["responses"].(map[string]any)
	code := fmt.Sprint(status)
	resp, ok := responses[code].(map[string]any)
	if !ok {
		code = "default"
		if resp, ok = responses[code].(map[string]any); !ok {
			return ""
		}
	}
	content, _ := resp["content"].(map[string]any)
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok || media["schema"] == nil || !strings.Contains(mt, "json") {
		return ""
	}
	ptr := "#/paths/" + pointerEscape(tmpl) + "/" + strings.ToLower(method) + "/responses/" + code + "/content/" + pointerEscape(mt) + "/schema"
	c.mu.Lock()
	sch, ok := c.compiled[ptr]
	if !ok {
		var err error
		sch, err = c.comp.Compile(docURL + ptr)
		if err != nil {
			c.mu.Unlock()
			return fmt.Sprintf("%s %s: the document's schema for %s %s does not compile: %v", method, path, code, mt, err)
		}
		c.compiled[ptr] = sch
	}
	c.mu.Unlock()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Sprintf("%s %s → %d %s: body is not JSON: %v", method, path, status, mt, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Sprintf("%s %s → %d: body does not match the OpenAPI schema (%s %s %s):\n%v\nbody: %.600s", method, path, status, tmpl, code, mt, err, body)
	}
	return ""
}

// validatingTransport checks every answer with a schemaChecker.
type validatingTransport struct {
	next    http.RoundTripper
	checker *schemaChecker
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead || !strings.HasPrefix(req.URL.String(), v.checker.base) {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	if lerr := v.checker.load(v.next); lerr != nil {
		v.checker.fail(lerr.Error())
		return resp, nil
	}
	if msg := v.checker.check(req.Method, req.URL.Path, resp.StatusCode, resp.Header, body); msg != "" {
		v.checker.fail(msg)
	}
	return resp, nil
}

func (c *schemaChecker) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) < 20 {
		c.failures = append(c.failures, msg)
	}
}

// report fails t with every mismatch seen.
func (c *schemaChecker) report(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.failures {
		t.Errorf("servertest: answer does not match the OpenAPI document: %s", f)
	}
}

// ValidatingTransport wraps next so that every answer from s is checked
// against s's OpenAPI document like those through s.Client; use it for
// other clients of s (another source address, say).
func (s *Server) ValidatingTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &validatingTransport{next: next, checker: s.checker}
}
