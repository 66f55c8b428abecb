package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
)

// DeviceDecider approves or denies an RFC 8628 user code; sts.Device
// satisfies it.
type DeviceDecider interface {
	Decide(ctx context.Context, a service.Actor, userCode string, approve bool) error
}

// deviceData is the /device page.
type deviceData struct {
	UserCode string
	Done     *deviceResult
	Form     form
}

func (h *Handler) mountDevice(mux *http.ServeMux) {
	if h.d.Device == nil {
		return
	}
	mux.Handle("GET /device", h.signedIn(h.deviceForm))
	mux.Handle("POST /device", h.signedIn(h.deviceDecide))
}

// deviceForm asks the signed-in person to confirm the code their terminal
// shows; a code in the link is only prefilled, never approved by the link
// alone.
func (h *Handler) deviceForm(w http.ResponseWriter, r *http.Request, v *visit) {
	d := &deviceData{UserCode: r.URL.Query().Get("user_code")}
	if res, ok := deviceResults[r.URL.Query().Get("result")]; ok {
		d.Done = &res
	}
	if len(d.UserCode) > 20 {
		d.UserCode = ""
	}
	h.render(w, r, v, http.StatusOK, "device", "Sign in a device", d)
}

func (h *Handler) deviceDecide(w http.ResponseWriter, r *http.Request, v *visit) {
	d := &deviceData{UserCode: r.PostFormValue("user_code")}
	approve := r.PostFormValue("action") == "approve"
	ip := auth.ClientOf(r).IP
	if h.d.LoginLimiter != nil && h.d.LoginLimiter.Blocked(ip) {
		d.Form.Error = "Too many wrong codes from your address. Wait a minute and try again."
		h.render(w, r, v, http.StatusTooManyRequests, "device", "Sign in a device", d)
		return
	}
	if err := h.d.Device.Decide(r.Context(), v.actor, d.UserCode, approve); err != nil {
		if errors.Is(err, service.ErrInvalid) && h.d.LoginLimiter != nil {
			h.d.LoginLimiter.Fail(ip) // guessing codes costs like guessing passwords
		}
		if !h.formError(w, r, &d.Form, err) {
			return
		}
		h.render(w, r, v, statusOf(err), "device", "Sign in a device", d)
		return
	}
	result := "denied"
	if approve {
		result = "approved"
	}
	seeOther(w, r, "/device?result="+result)
}
