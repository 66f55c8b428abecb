package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/sts"
)

// DeviceDecider shows and decides RFC 8628 user codes; sts.Device
// satisfies it.
type DeviceDecider interface {
	Pending(ctx context.Context, a service.Actor, userCode string) (*sts.DeviceRequest, error)
	Decide(ctx context.Context, a service.Actor, userCode string, approve bool) error
}

// The /device page works in two steps, so that no link can approve a
// sign-in for the person who follows it (RFC 8628 §5.4, remote phishing):
//
//  1. The person types the code their terminal shows and continues.
//  2. The page shows what asked (client, address, program, when) and what
//     approving grants, and only then offers Approve and Deny.
//
// A link with ?user_code= skips to step 2, but the code in it is never put
// in the form: to approve, the person types the code from their own
// terminal, and it must be the code of the request shown. Someone who was
// sent the link has no terminal showing a code, and a pre-filled form sent
// as it is approves nothing. Deny takes the code from the page, since
// refusing someone else's request is always safe.
//
// Approving also needs a recent sign-in (approveSignInWithin): the device
// gets a session with the approver's full role, so a browser that was
// merely left signed in (a shared or unlocked computer, a copied cookie)
// must not be enough. An older session sees the review with a link to sign
// in again that comes back to it, and its approvals are refused.

// approveSignInWithin is how recent the approver's password or single
// sign-on sign-in must be.
const approveSignInWithin = 15 * time.Minute

// deviceData is the /device page.
type deviceData struct {
	UserCode string // what the person typed in step 1
	Review   *deviceReview
	Done     *deviceResult
	Form     form
	// staleRefused says an approval was refused for an old sign-in.
	staleRefused bool
}

// deviceReview is step 2: one pending request and the person deciding.
type deviceReview struct {
	// Code is the code under review. From a link it is only in a hidden
	// field (Confirm is then true) and the person must type it again.
	Code    string
	Confirm bool
	Client  string
	IP      string // "" = not recorded
	Agent   string // attacker-controlled: only ever rendered escaped
	Asked   timeText
	Expires timeText
	// YourIP is set when the requester's address is not the approver's: a
	// CLI on another machine is normal, but the person should know.
	YourIP string
	User   string
	Role   string
	// SignInAgain is set when the visitor's sign-in is too old to
	// approve: the console path of a login that comes back to this review.
	SignInAgain string
	SignedIn    timeText // when the visitor signed in; unset for a minted session
}

// deviceWords say the device flow's messages as the page does.
var deviceWords = formWords{phrases: []phrase{
	saying(`^this code is unknown, expired or already used; check`, "This code is unknown, expired or already used. Check"),
}}

// deviceClients names the clients that may use the device flow.
var deviceClients = map[string]string{sts.CLIClientID: "The latchkey CLI (latchkey login --web)"}

func (h *Handler) mountDevice(mux *http.ServeMux) {
	if h.d.Device == nil {
		return
	}
	mux.Handle("GET /device", h.signedIn(h.deviceForm))
	mux.Handle("POST /device", h.signedIn(h.deviceDecide))
}

func newDeviceData() *deviceData {
	d := &deviceData{Form: newForm("", "user_code")}
	d.Form.words = deviceWords
	return d
}

// deviceForm is step 1, the result of a decision, or, for a link that
// carries a code, step 2 for that code.
func (h *Handler) deviceForm(w http.ResponseWriter, r *http.Request, v *visit) {
	d := newDeviceData()
	if res, ok := deviceResults[r.URL.Query().Get("result")]; ok {
		d.Done = &res
		h.render(w, r, v, http.StatusOK, "device", res.Title, d)
		return
	}
	code := r.URL.Query().Get("user_code")
	if code == "" || len(code) > 20 {
		h.render(w, r, v, http.StatusOK, "device", "Sign in a device", d)
		return
	}
	h.deviceReview(w, r, v, d, code, true)
}

// deviceReview shows step 2 for code, or step 1 again with what was wrong
// with it. confirm says the code came from a link, so the person must type
// it before approving.
func (h *Handler) deviceReview(w http.ResponseWriter, r *http.Request, v *visit, d *deviceData, code string, confirm bool) {
	if h.deviceLimited(w, r, v, d) {
		return
	}
	req, err := h.d.Device.Pending(r.Context(), v.actor, code)
	if err != nil {
		h.deviceFailed(w, r, v, d, err)
		return
	}
	rv := &deviceReview{Code: req.UserCode, Confirm: confirm, Client: req.ClientID, IP: req.IP, Agent: req.Agent,
		Asked: h.timeText(&req.CreatedAt), Expires: h.timeText(&req.ExpiresAt), User: v.p.User.Username, Role: string(v.p.User.Role)}
	if name, ok := deviceClients[req.ClientID]; ok {
		rv.Client = name
	}
	if you := auth.ClientOf(r).IP; req.IP != "" && req.IP != you {
		rv.YourIP = you
	}
	if !h.signedInRecently(v) {
		// Back to the review by its link, so the code is typed again
		// from the terminal after the sign-in, as from any link.
		next := "/device?" + url.Values{"user_code": {req.UserCode}}.Encode()
		rv.SignInAgain = "/login?" + url.Values{"again": {"1"}, "next": {next}}.Encode()
		if v.p.Session.ParentID == "" {
			rv.SignedIn = h.timeText(&v.p.Session.CreatedAt)
		}
	}
	d.Review = rv
	status := http.StatusOK
	switch {
	case d.staleRefused:
		status = http.StatusForbidden
	case d.Form.Invalid():
		status = http.StatusUnprocessableEntity
	}
	h.render(w, r, v, status, "device", "Approve a device sign-in", d)
}

// deviceDecide handles both steps' forms: action=review (step 1), and
// approve or deny (step 2).
func (h *Handler) deviceDecide(w http.ResponseWriter, r *http.Request, v *visit) {
	d := newDeviceData()
	typed, reviewed := strings.TrimSpace(r.PostFormValue("user_code")), r.PostFormValue("reviewed")
	if len(typed) > 20 || len(reviewed) > 20 {
		typed, reviewed = "", ""
	}
	switch action := r.PostFormValue("action"); {
	case action == "deny" && reviewed != "":
		h.deviceDecideCode(w, r, v, d, reviewed, false)
	case action == "approve" && reviewed != "":
		switch {
		case !h.signedInRecently(v):
			// Checked first, whatever the form holds: the page offered no
			// Approve button to this session.
			d.staleRefused = true
			d.Form.Error = "Sign in again to approve: approving needs a sign-in from the last 15 minutes. Nothing was approved."
			h.deviceReview(w, r, v, d, reviewed, true)
		case typed == "":
			d.Form.set("user_code", "Type the code your terminal shows to approve. If no terminal of yours shows a code, deny.")
			h.deviceReview(w, r, v, d, reviewed, true)
		case !sts.SameUserCode(typed, reviewed):
			d.Form.set("user_code", "This is not the code of the request shown here. Type the code your terminal shows; if it shows a different code, deny this request and start again with that code.")
			h.deviceReview(w, r, v, d, reviewed, true)
		default:
			h.deviceDecideCode(w, r, v, d, reviewed, true)
		}
	default:
		// Step 1, and anything else: a decision is only ever taken on a
		// request the page has shown, so a code sent without one is
		// reviewed, never approved.
		d.UserCode = typed
		if typed == "" {
			d.Form.set("user_code", "Enter the code that latchkey login --web shows in your terminal.")
			h.render(w, r, v, http.StatusUnprocessableEntity, "device", "Sign in a device", d)
			return
		}
		h.deviceReview(w, r, v, d, typed, false)
	}
}

func (h *Handler) deviceDecideCode(w http.ResponseWriter, r *http.Request, v *visit, d *deviceData, code string, approve bool) {
	if h.deviceLimited(w, r, v, d) {
		return
	}
	if err := h.d.Device.Decide(r.Context(), v.actor, code, approve); err != nil {
		h.deviceFailed(w, r, v, d, err)
		return
	}
	result := "denied"
	if approve {
		result = "approved"
	}
	seeOther(w, r, "/device?result="+result)
}

// signedInRecently reports whether the visitor's session comes from a
// password or single sign-on sign-in within approveSignInWithin. A
// session's CreatedAt is that sign-in: sliding refresh moves only its
// expiry, on the same row. A session minted from another one (ParentID:
// a /cli-auth token put in a browser) was no sign-in at all, and never
// counts, however new.
func (h *Handler) signedInRecently(v *visit) bool {
	s := v.p.Session
	return s != nil && s.ParentID == "" && h.d.Now().Sub(s.CreatedAt) <= approveSignInWithin
}

// deviceLimited answers 429 with step 1 while the visitor's address is
// blocked for guessing codes.
func (h *Handler) deviceLimited(w http.ResponseWriter, r *http.Request, v *visit, d *deviceData) bool {
	if h.d.LoginLimiter == nil || !h.d.LoginLimiter.Blocked(auth.ClientOf(r).IP) {
		return false
	}
	d.Review, d.Form.Fields = nil, nil
	d.Form.Error = "Too many wrong codes from your address. Wait a minute and try again."
	h.render(w, r, v, http.StatusTooManyRequests, "device", "Sign in a device", d)
	return true
}

// deviceFailed shows step 1 again with what was wrong. Looking up a code
// tells whether it exists, so an unknown one sent from the form costs like
// a wrong password. A link's lookup (a GET) does not count: any site can
// make a signed-in browser open links, and a guess found that way only
// shows a stranger's pending request, which approving would give the
// stranger's device the guesser's own session.
func (h *Handler) deviceFailed(w http.ResponseWriter, r *http.Request, v *visit, d *deviceData, err error) {
	// Only a code the person sent counts as a guess. A link's code (a GET)
	// does not: any site can make a signed-in browser open /device links,
	// and counting them would let it block the visitor's address from
	// logins and token checks.
	if errors.Is(err, service.ErrInvalid) && h.d.LoginLimiter != nil && r.Method == http.MethodPost {
		h.d.LoginLimiter.Fail(auth.ClientOf(r).IP)
	}
	d.Review, d.Form.Fields = nil, nil
	if !h.formError(w, r, &d.Form, err) {
		return
	}
	h.render(w, r, v, statusOf(err), "device", "Sign in a device", d)
}
