package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

//go:embed templates
var templateFS embed.FS

// pages holds one template set per page: the shared layout and partials
// plus that page's "content".
type pages struct {
	sets map[string]*template.Template
}

func parsePages(funcs template.FuncMap) (*pages, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, f := range files {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, err
		}
		p.sets[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return p, nil
}

// page is what the layout renders around a page's content.
type page struct {
	Title    string
	Base     string // the path prefix the console is reached under, usually ""
	Name     string // the page template
	Path     string // the request's path below Base, for marking the menu link to it
	User     *store.User
	Admin    bool
	CSRF     string
	Expiring *banner
	Notice   string
	Data     any
}

// Current is the aria-current attribute of the menu link to path: "page"
// on that very page, "true" on a page inside its section (a token under
// Access tokens, a user under Users), none elsewhere. Error pages belong
// to no section: "Not found" under /tokens/ is not a token's page.
func (p *page) Current(path string) template.HTMLAttr {
	switch {
	case p.Name == "error":
		return ""
	case p.Path == path:
		return ` aria-current="page"`
	case strings.HasPrefix(p.Path, path+"/"):
		return ` aria-current="true"`
	}
	return ""
}

// bannerToken is one of the visitor's tokens that expires within a week.
type bannerToken struct {
	ID, Name string
	Expires  timeText
}

// render executes page name inside the layout and writes it with status.
// The page is rendered to a buffer first, so a template error becomes a
// clean 500 page rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title string, data any) {
	t, ok := h.pages.sets[name]
	if !ok {
		h.d.Logger.ErrorContext(r.Context(), "console page template missing", "page", name)
		name, t = "error", h.pages.sets["error"]
		status, data = http.StatusInternalServerError, errorData{Status: 500, Heading: "Something went wrong"}
	}
	if status >= 400 && name != "error" {
		// A page sent back with what was wrong: its title says so first,
		// which is what a screen reader reads on arrival (WCAG 3.3.1).
		title = "Error: " + title
	}
	pg := &page{Title: title, Base: basePath(r), Name: name, Path: r.URL.Path, Data: data}
	if msg := r.URL.Query()["msg"]; len(msg) == 1 { // a GET that repeats it is refused (protect)
		pg.Notice = notices[msg[0]]
	}
	if v != nil {
		pg.User, pg.Admin, pg.CSRF = v.p.User, v.admin(), v.csrf
		pg.Expiring = h.expiring(r.Context(), v)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		h.d.Logger.ErrorContext(r.Context(), "render console page", "page", name, "err", err)
		http.Error(w, "Something went wrong rendering this page; it has been logged.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// expiring is the banner on every page: how many of the visitor's tokens
// expire within a week, naming the soonest first.
func (h *Handler) expiring(ctx context.Context, v *visit) *banner {
	sum, err := h.d.Services.Tokens.Expiring(ctx, v.actor, bannerShown)
	if err != nil {
		h.d.Logger.WarnContext(ctx, "list expiring tokens for banner", "err", err)
		return nil
	}
	if sum.Count == 0 {
		return nil
	}
	b := &banner{Count: sum.Count, More: sum.Count - len(sum.Soonest)}
	for _, t := range sum.Soonest {
		b.Tokens = append(b.Tokens, bannerToken{ID: t.ID, Name: t.Name, Expires: h.timeText(h.effectiveExpiry(ctx, t))})
	}
	return b
}

// bannerShown is how many expiring tokens the banner names.
const bannerShown = 5

// banner counts every expiring token of the visitor and names the soonest.
type banner struct {
	Count  int
	Tokens []bannerToken // soonest first
	More   int           // expiring tokens not named
}

// errorData is the 403, 404 and 500 pages.
type errorData struct {
	Status  int
	Heading string
	Message string
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, v *visit, status int, heading, msg string) {
	h.render(w, r, v, status, "error", heading, errorData{Status: status, Heading: heading, Message: msg})
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, v *visit, msg string) {
	h.renderError(w, r, v, http.StatusForbidden, "Not allowed", msg)
}

// fail answers an error that is not about one form field: the service's
// message for rule violations, a generic 500 (logged) for anything else.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	var se *service.Error
	switch {
	case errors.Is(err, service.ErrNotFound):
		h.renderError(w, r, v, http.StatusNotFound, "Not found", notFoundWords(err))
	case errors.Is(err, service.ErrForbidden):
		h.forbidden(w, r, v, messageOf(err))
	case errors.Is(err, service.ErrUnauthenticated):
		seeOther(w, r, "/login?msg=ended")
	case errors.As(err, &se):
		h.renderError(w, r, v, statusOf(err), "That did not work", se.Msg)
	default:
		if msg, retry, ok := store.Outage(err); ok {
			h.d.Logger.WarnContext(r.Context(), "console request failed: temporarily unavailable", "path", r.URL.Path, "err", err)
			h.outage(err)
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			h.renderError(w, r, v, http.StatusServiceUnavailable, "Temporarily unavailable", strings.ToUpper(msg[:1])+msg[1:]+".")
			return
		}
		h.serverError(w, r, v, err)
	}
}

// outage tells readiness about a storage failure answered 503.
func (h *Handler) outage(err error) {
	if h.d.Outage != nil {
		h.d.Outage(err)
	}
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	h.d.Logger.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "err", err)
	h.renderError(w, r, v, http.StatusInternalServerError, "Something went wrong",
		"The server could not complete this request. It has been logged; try again in a moment.")
}

func messageOf(err error) string {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// statusOf maps a service error kind to the status of the page showing it.
func statusOf(err error) int {
	switch {
	case errors.Is(err, service.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, service.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, service.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, service.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, service.ErrUnauthenticated):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// form carries a form's CSRF token and its errors: one per field, shown next
// to it, and one for the whole form.
type form struct {
	CSRF   string
	Error  string
	Fields map[string]string
	known  map[string]bool
	order  []string  // the fields in the order the form shows them
	words  formWords // the form's labels for the service's field names
}

// newForm returns a form whose errors may name the given fields; errors
// about any other field are shown for the whole form.
func newForm(csrf string, fields ...string) form {
	f := form{CSRF: csrf, known: map[string]bool{}, order: fields}
	for _, name := range fields {
		f.known[name] = true
	}
	return f
}

// Err returns the error shown next to field, if any.
func (f form) Err(field string) string { return f.Fields[field] }

// Invalid reports whether the form has any error.
func (f form) Invalid() bool { return f.Error != "" || len(f.Fields) > 0 }

// problem is one field's error in the summary above a form.
type problem struct{ Field, Msg string }

// Problems lists the field errors in the order the form shows its fields,
// for the error summary that takes focus when the form comes back (each
// links to the message next to its field, id "<field>-error").
func (f form) Problems() []problem {
	var out []problem
	for _, name := range f.order {
		if msg, ok := f.Fields[name]; ok {
			out = append(out, problem{Field: name, Msg: msg})
		}
	}
	return out
}

func (f *form) set(field, msg string) {
	if field == "" || !f.known[field] {
		if f.Error == "" {
			f.Error = msg
		}
		return
	}
	if f.Fields == nil {
		f.Fields = map[string]string{}
	}
	if _, ok := f.Fields[field]; !ok {
		f.Fields[field] = msg
	}
}

// fieldAliases maps service field names to the console form's fields.
var fieldAliases = map[string]string{
	"expires_in": "expiration", "expires_at": "expiration", "no_expiry": "expiration",
}

// formError records a service error on the form and reports true, so the
// caller renders the form again with what the user typed. An error that is
// not a rule violation is answered with a 500 page, and it reports false.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, f *form, err error) bool {
	var se *service.Error
	if !errors.As(err, &se) {
		h.fail(w, r, nil, err) // an outage answers 503 saying so, anything else 500
		return false
	}
	field := service.FieldOf(err)
	if alias, ok := fieldAliases[field]; ok {
		field = alias
	}
	f.set(field, f.words.say(service.FieldOf(err), se.Msg))
	return true
}

// fieldErrorf is an error about one form field found by the console itself,
// before any service is called (a date that does not parse).
func fieldErrorf(field, format string, args ...any) error {
	return &service.Error{Kind: service.ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}
