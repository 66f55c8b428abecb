package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Parameters given more than once in a console address are refused, not
// read first-wins: a proxy or WAF that reads the last value would see
// another request than the one answered (HTTP parameter pollution). The
// API refuses the same (api.refuseRepeatedQuery).

// singleValued are the query parameters console pages read as one value,
// checked for every page by protect (repeatedQuery): msg (every page's
// notice), next (a redirect target), again, cursor, the device page's
// user_code and result, page (a list's page number, for its title), and the
// new-token link's prefill. The filters of
// the audit and all-tokens pages are checked by the page (filterQuery), so
// the error shows next to the form field; the new-token page checks user,
// a filter of /admin/tokens too. scopes is a list.
var singleValued = []string{"msg", "next", "again", "cursor", "page", "user_code", "result",
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

// listPage is which page of a paged list r shows, for the page's title
// (WCAG 2.4.2): 1 without a cursor; with one, the number the previous
// page's Next link gave (page=), or 2 when it gave none that makes sense.
func listPage(r *http.Request) int {
	q := r.URL.Query()
	if q.Get("cursor") == "" {
		return 1
	}
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 2 || n > 1_000_000 {
		return 2
	}
	return n
}

// pagedTitle is the title of the page of a list r shows: "Users" for the
// first, "Users, page 2" for the next.
func pagedTitle(title string, r *http.Request) string {
	if n := listPage(r); n > 1 {
		return fmt.Sprintf("%s, page %d", title, n)
	}
	return title
}

// nextPage is the page= of the Next link of the list page r shows.
func nextPage(r *http.Request) string { return strconv.Itoa(listPage(r) + 1) }
