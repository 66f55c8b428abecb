package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Sentinels that *Error and *OAuthError match with errors.Is, by status.
var (
	ErrInvalid      = errors.New("invalid request")   // 400, 422
	ErrUnauthorized = errors.New("not authenticated") // 401
	ErrForbidden    = errors.New("forbidden")         // 403
	ErrNotFound     = errors.New("not found")         // 404
	ErrConflict     = errors.New("conflict")          // 409
	ErrRateLimited  = errors.New("too many requests") // 429
	ErrServer       = errors.New("server error")      // 5xx
)

// Error is an error answer of the REST API (RFC 9457 problem+json).
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Title is the short, generic description of the status.
	Title string `json:"title"`
	// Detail says what was wrong and how to fix it.
	Detail string `json:"detail"`
	// Type is a URI naming the problem type, often empty.
	Type string `json:"type,omitempty"`
	// Errors lists the faulty inputs of a validation failure.
	Errors []ErrorDetail `json:"errors,omitempty"`

	// notAPI: the answer was not a Latchkey API answer (a page, an empty
	// body) but another server's, so its status says nothing about the
	// request: it is ErrServer, whatever the status.
	notAPI bool
}

// IsNotLatchkey reports whether err is an answer that no Latchkey server
// gives (an HTML or text page, an empty error body): the address is
// another service's, or a proxy's.
func IsNotLatchkey(err error) bool {
	var e *Error
	var o *OAuthError
	return errors.As(err, &e) && e.notAPI || errors.As(err, &o) && o.notAPI
}

// ErrorDetail is one faulty input: where it was and what was wrong.
type ErrorDetail struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty"` // e.g. body.name, query.state
	Value    any    `json:"value,omitempty"`
}

// Error returns the detail, with each faulty input the detail does not
// already mention.
func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var extra []string
	for _, d := range e.Errors {
		if d.Message == "" || strings.Contains(msg, d.Message) {
			continue
		}
		if d.Location != "" {
			extra = append(extra, d.Location+": "+d.Message)
		} else {
			extra = append(extra, d.Message)
		}
	}
	if len(extra) > 0 {
		msg += ": " + strings.Join(extra, "; ")
	}
	return msg
}

// Is matches the sentinel of the error's status.
func (e *Error) Is(target error) bool {
	if e.notAPI {
		return target == ErrServer
	}
	return statusIs(e.Status, target)
}

// OAuthError is an error answer of the OAuth endpoints (RFC 6749 §5.2):
// token exchange and introspection.
type OAuthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`             // e.g. invalid_grant, invalid_scope
	Description string `json:"error_description"` // what was wrong

	notAPI bool // not a Latchkey answer (see Error)
}

// Error returns the code and description.
func (e *OAuthError) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Is matches the sentinel of the error's status.
func (e *OAuthError) Is(target error) bool {
	if e.notAPI {
		return target == ErrServer
	}
	return statusIs(e.Status, target)
}

func statusIs(status int, target error) bool {
	switch target {
	case ErrInvalid:
		return status == http.StatusBadRequest || status == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return status == http.StatusUnauthorized
	case ErrForbidden:
		return status == http.StatusForbidden
	case ErrNotFound:
		return status == http.StatusNotFound
	case ErrConflict:
		return status == http.StatusConflict
	case ErrRateLimited:
		return status == http.StatusTooManyRequests
	case ErrServer:
		return status >= 500
	}
	return false
}

// StatusOf returns the HTTP status of an API error, or 0 for anything else.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var o *OAuthError
	if errors.As(err, &o) {
		return o.Status
	}
	return 0
}

// newError reads a problem+json body; anything else becomes an Error whose
// detail quotes the start of the body, so a proxy's HTML page is recognisable.
func newError(status int, body []byte) *Error {
	e := &Error{}
	if err := json.Unmarshal(body, e); err != nil || (e.Detail == "" && e.Title == "") {
		e = &Error{Title: http.StatusText(status), Detail: unexpected(status, body), notAPI: true}
	}
	e.Status = status
	return e
}

func newOAuthError(status int, body []byte) *OAuthError {
	e := &OAuthError{}
	if err := json.Unmarshal(body, e); err != nil || e.Code == "" {
		// Some routes answer problem+json even under /oauth2.
		pe := newError(status, body)
		e = &OAuthError{Code: strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_")), Description: pe.Error(), notAPI: pe.notAPI}
	}
	e.Status = status
	return e
}

// notAPIAnswer recognises an error answer that no Latchkey server gives: a
// page (HTML, plain text) instead of JSON, as from another web server on
// that address or a proxy in front of it. It says so in one line instead of
// quoting the page; nil when the answer is JSON or empty.
func notAPIAnswer(resp *http.Response, body []byte, what, base string) *Error {
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if len(strings.TrimSpace(string(body))) == 0 || strings.HasSuffix(mt, "json") || mt == "" {
		return nil
	}
	kind := "a " + mt + " page"
	if mt == "text/html" {
		kind = "an HTML page"
	}
	return &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), notAPI: true,
		Detail: fmt.Sprintf("%s answered %d %s with %s, not a Latchkey API answer: is %s the address of a Latchkey server (not a proxy or another service)?",
			what, resp.StatusCode, http.StatusText(resp.StatusCode), kind, base)}
}

func unexpected(status int, body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	msg := "the server answered " + strconv.Itoa(status) + " " + http.StatusText(status)
	if s != "" {
		msg += ": " + strings.Join(strings.Fields(s), " ")
	}
	return msg
}
