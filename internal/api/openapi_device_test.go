package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestOpenAPIDeviceAuthorizationSaysWhatTheApproverSees: the description of
// POST /oauth2/device_authorization tells a client's author that the
// requester's address and User-Agent are recorded and shown to the
// approver, and that approving needs the code typed from the terminal.
func TestOpenAPIDeviceAuthorizationSaysWhatTheApproverSees(t *testing.T) {
	s := servertest.Start(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/openapi.json", "", nil, http.StatusOK, &doc)
	desc := doc.Paths["/oauth2/device_authorization"]["post"].Description
	for _, want := range []string{"address", "User-Agent", "recorded", "shown to the person asked to approve", "typed from the terminal"} {
		if !strings.Contains(desc, want) {
			t.Errorf("the device authorization's description does not say %q:\n%s", want, desc)
		}
	}
}
