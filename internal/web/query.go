package web

import (
	"net/http"
	"net/url"
)

// filterQuery is the query of a console page that filters or pages, or the
// error to show when one of names is given more than once
// (?action=user.&action=token.): the console would read the first, and a
// proxy or WAF that reads the last would see another request than the one
// answered (HTTP parameter pollution). The API refuses the same
// (api.refuseRepeatedQuery). The error belongs to the form field of the
// same name, or to the whole form for one it has not (cursor).
func filterQuery(r *http.Request, names ...string) (url.Values, error) {
	q := r.URL.Query()
	for _, name := range names {
		if n := len(q[name]); n > 1 {
			return q, fieldErrorf(name, "%s was given %d times in the address; choose one value and filter again.", name, n)
		}
	}
	return q, nil
}
