package gateway

import (
	"net/http"
	"net/url"
	"strings"
)

// Method override: many frameworks run a POST as the method a header or a
// _method query parameter names (Express's method-override, gorilla's
// HTTPMethodOverrideHandler, Symfony and Laravel, ASP.NET, OData), and
// proxies pass both on. Latchkey judges one method, so a request that names
// a second one is refused: a token allowed to POST a path would otherwise
// DELETE it. An override naming the request's own method is harmless.
// A _method in a form body is out of Latchkey's sight (docs/gateway.md).

// overrideHeaders are the method-override headers, lower case; a received
// name matches one case aside and with every character other than a
// letter or a digit read as "-": CGI, WSGI and Rack read
// X_HTTP_Method_Override as the same variable, and PHP reads any
// non-alphanumeric character of a header name as "_"
// (X.HTTP.Method.Override is $_SERVER['HTTP_X_HTTP_METHOD_OVERRIDE']).
var overrideHeaders = [...]string{"x-http-method-override", "x-http-method", "x-method-override"}

// overrideParam is the query parameter Express (methodOverride("_method"))
// and Symfony read the method from. PHP registers a query key without its
// leading spaces and with "." and " " read as "_" (phpKey), so ".method",
// " _method" and "+_method" are $_GET['_method'] to Symfony and Laravel.
const overrideParam = "_method"

// conflictingOverride returns a reason to refuse req when it names another
// method than its own, or "". It allocates nothing for requests without an
// override, the forward-auth hot path.
func conflictingOverride(req Request) string {
	for k, vs := range req.Header {
		if !isOverrideHeader(k) {
			continue
		}
		for _, v := range vs {
			if !strings.EqualFold(strings.TrimSpace(v), req.Method) {
				return overrideReason(k+" header", v, req.Method)
			}
		}
	}
	_, q, _ := strings.Cut(req.URI, "?")
	q, _, _ = strings.Cut(q, "#")
	// Keys are compared decoded ("%5Fmethod" is "_method"), so any query
	// with an escape is read in full; the usual one has none. Every
	// spelling PHP reads as _method holds "method" or an escape.
	if !strings.Contains(q, "method") && strings.IndexByte(q, '%') < 0 {
		return ""
	}
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err != nil || phpKey(k) != overrideParam {
			continue
		}
		if dv, err := url.QueryUnescape(v); err != nil || !strings.EqualFold(strings.TrimSpace(dv), req.Method) {
			return overrideReason(overrideParam+" query parameter", v, req.Method)
		}
	}
	return ""
}

// phpKey is the name PHP registers query key k under: leading spaces
// dropped, then "." and " " read as "_" (a key that is not a candidate is
// returned as it is, without allocating).
func phpKey(k string) string {
	k = strings.TrimLeft(k, " ")
	if !strings.ContainsAny(k, ". ") {
		return k
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' {
			return '_'
		}
		return r
	}, k)
}

func isOverrideHeader(k string) bool {
	for _, n := range overrideHeaders {
		if len(k) == len(n) && equalHeaderName(k, n) {
			return true
		}
	}
	return false
}

// equalHeaderName reports whether k is lower (lower case, "-" separated),
// case aside and with any character but a letter or a digit read as "-".
func equalHeaderName(k, lower string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		default:
			c = '-'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func overrideReason(where, value, method string) string {
	return "the request is a " + method + " but its " + where + " asks the service to run it as " + quoteShort(value) +
		": Latchkey judges one method; send the request with the method itself (" + http.MethodDelete + ", " + http.MethodPut + "...)"
}
