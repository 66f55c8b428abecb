package web

import (
	"net/http"
	"net/url"
)

// Parameters given more than once in a console address are refused, not
// read first-wins: a proxy or WAF that reads the last value would see
// another request than the one answered (HTTP parameter pollution). The
// API refuses the same (api.refuseRepeatedQuery).

// singleValued are the query parameters console pages read as one value,
// checked for every page by protect (repeatedQuery): msg (every page's
// notice), next (a redirect target), again, cursor, the device page's
// user_code and result, and the new-token link's prefill. The filters of
// the audit and all-tokens pages are checked by the page (filterQuery), so
// the error shows next to the form field; the new-token page checks user,
// a filter of /admin/tokens too. scopes is a list.
var singleValued = []string{"msg", "next", "again", "cursor", "user_code", "result",
	"name", "description", "expires_in", "no_expiry"}

// repeatedError is the error for the first of names q gives more than once.
func repeatedError(q url.Values, names []string, advice string) error {
	for _, name := range names {
		if n := len(q[name]); n > 1 {
			return fieldErrorf(name, "%s was given %d times in the address; %s", name, n, advice)
		}
	}
	return nil
}

// filterQuery is the query of a console page that filters or pages, or the
// error to show when one of names is given more than once
// (?action=user.&action=token.). The error belongs to the form field of the
// same name.
func filterQuery(r *http.Request, names ...string) (url.Values, error) {
	q := r.URL.Query()
	return q, repeatedError(q, names, "choose one value and filter again.")
}

// repeatedQuery is the error for the first of names r's address gives
// more than once, or nil.
func repeatedQuery(r *http.Request, names []string) error {
	return repeatedError(r.URL.Query(), names, "a link gives it once: open the page again from its link or the menu.")
}

// refuseRepeated answers 400 with the console's error page for err, a
// parameter given more than once (repeatedQuery).
func (h *Handler) refuseRepeated(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	h.renderError(w, r, v, http.StatusBadRequest, "Address not understood", messageOf(err))
}
