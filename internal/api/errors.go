package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// Realm is the realm named in WWW-Authenticate challenges.
const Realm = "latchkey"

// problem maps an error to its HTTP answer. It is the one place where kinds
// become status codes; anything unexpected is logged and answered with a
// bare 500 that reveals nothing.
func (a *API) problem(ctx context.Context, err error) error {
	var se *service.Error
	detail := err.Error()
	var details []error
	if errors.As(err, &se) && se.Field != "" {
		details = append(details, &huma.ErrorDetail{Message: se.Msg, Location: location(se.Field)})
	}
	switch {
	case errors.Is(err, auth.ErrUnauthenticated), errors.Is(err, service.ErrUnauthenticated):
		challenge := `Bearer realm="` + Realm + `"`
		if err != auth.ErrNoCredential {
			// RFC 6750 §3: a credential was presented and refused.
			challenge += `, error="invalid_token"`
		}
		return huma.ErrorWithHeaders(huma.NewError(http.StatusUnauthorized, detail),
			http.Header{"WWW-Authenticate": {challenge}})
	case errors.Is(err, service.ErrInvalid):
		return huma.NewError(http.StatusUnprocessableEntity, detail, details...)
	case errors.Is(err, service.ErrNotFound):
		return huma.NewError(http.StatusNotFound, detail)
	case errors.Is(err, service.ErrConflict):
		return huma.NewError(http.StatusConflict, detail, details...)
	case errors.Is(err, service.ErrForbidden):
		return huma.NewError(http.StatusForbidden, detail)
	case errors.Is(err, auth.ErrRateLimited):
		retry := "60"
		var rl *auth.RateLimited
		if errors.As(err, &rl) {
			retry = rl.Seconds()
		}
		return huma.ErrorWithHeaders(huma.NewError(http.StatusTooManyRequests, detail),
			http.Header{"Retry-After": {retry}})
	case errors.Is(err, context.Canceled):
		return huma.NewError(499, "request cancelled")
	case errors.Is(err, service.ErrPasswordsBusy):
		// The server's own limit, not the storage's: said in its own words
		// and not recorded as an outage.
		a.d.Logger.WarnContext(ctx, "a login waited too long for a password check", "err", err)
		msg, retry, _ := store.Outage(err)
		return huma.ErrorWithHeaders(huma.NewError(http.StatusServiceUnavailable, msg),
			http.Header{"Retry-After": {strconv.Itoa(retry)}})
	}
	if msg, retry, ok := store.Outage(err); ok {
		a.d.Logger.WarnContext(ctx, "storage unavailable", "err", err)
		if a.d.Outage != nil {
			a.d.Outage(err)
		}
		return huma.ErrorWithHeaders(huma.NewError(http.StatusServiceUnavailable, msg),
			http.Header{"Retry-After": {strconv.Itoa(retry)}})
	}
	a.d.Logger.ErrorContext(ctx, "internal error", "err", err)
	return huma.NewError(http.StatusInternalServerError, "internal error; the server log has the details")
}

// writeProblem answers outside huma (routes it does not own) in the same
// problem+json shape.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(huma.ErrorModel{Title: http.StatusText(status), Status: status, Detail: detail})
}

// location names where a faulty input was: a query parameter or a body field.
func location(field string) string {
	switch field {
	case "cursor", "limit", "state", "kind", "scope", "since", "until", "days":
		return "query." + field
	}
	return "body." + field
}

// explain makes every problem self-explanatory in its detail alone, and
// echoes no input back. huma's own answers (schema validation, unreadable
// bodies) say only "validation failed" and list the specifics in errors[];
// clients and people read the detail, so the specifics are spelled out
// there too, with how to fix them.
func explain(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok || len(em.Errors) == 0 {
		return v, nil
	}
	for _, d := range em.Errors {
		if d != nil {
			// huma puts the refused input here: a password that is too
			// long, or the whole body (passwords, leaked tokens) beside an
			// unexpected property. It is the client's own, but answers end
			// up in terminals, CI logs and proxies; the location and the
			// message say what to fix.
			d.Value = nil
		}
	}
	var parts []string
	for _, d := range em.Errors {
		if d == nil || d.Message == "" || strings.Contains(em.Detail, d.Message) {
			continue
		}
		msg := d.Message
		switch {
		case strings.HasPrefix(msg, "invalid character"), strings.HasPrefix(msg, "unexpected end of JSON"), strings.Contains(msg, "cannot unmarshal"):
			msg = "the body is not valid JSON (" + msg + "); send a JSON object with Content-Type: application/json"
		case strings.HasPrefix(msg, "unknown content type"):
			msg = msg + "; send JSON with Content-Type: application/json"
		case d.Location != "":
			msg = d.Location + ": " + msg
		}
		parts = append(parts, msg)
		if len(parts) == 5 {
			parts = append(parts, "…")
			break
		}
	}
	if len(parts) > 0 {
		em.Detail = strings.TrimSuffix(em.Detail, ".") + ": " + strings.Join(parts, "; ")
	}
	return em, nil
}
