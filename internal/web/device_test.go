package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/servertest"
)

// deviceCode asks the server for a device code as a CLI with the given
// User-Agent would, and returns the user code.
func deviceCode(t *testing.T, s *servertest.Server, agent string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/device_authorization", strings.NewReader(url.Values{"client_id": {"latchkey-cli"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", agent)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		UserCode string `json:"user_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.UserCode == "" {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, err)
	}
	return out.UserCode
}

// TestBrowserDeviceSignInStepsPassAxeAndKeepFocusOnErrors walks the /device
// page's every step in Chromium, on a laptop and a phone: the code form,
// the form sent empty, the review a link opens (with a long, hostile
// User-Agent), Approve pressed before typing the code, and the approval.
// Each passes axe-core and the console's own checks; a form sent back with
// a mistake says "Error:" first and puts focus on the error summary.
func TestBrowserDeviceSignInStepsPassAxeAndKeepFocusOnErrors(t *testing.T) {
	axe := axeSource(t)
	s := servertest.Start(t)
	agent := "Mozilla/5.0 (X11; Linux x86_64) <img src=x onerror=alert(1)> " + strings.Repeat("VeryLongProductTokenWithoutSpaces", 5)
	for _, vp := range []struct {
		name string
		vp   viewport
	}{{"desktop", desktop}, {"phone", phone}} {
		t.Run(vp.name, func(t *testing.T) {
			b := openChromium(t, s.URL, vp.vp)
			b.login(servertest.AdminUser, servertest.AdminPassword)
			found := map[string][]string{}
			check := func(step string) {
				t.Helper()
				b.fitsWidth()
				for _, js := range []string{fieldEdgesCheck, distinctNamesCheck, optionalCheck} {
					got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](js))
					if err != nil {
						t.Fatalf("check %s: %v", step, err)
					}
					found[step] = append(found[step], got...)
				}
				found[step] = append(found[step], b.audit(axe)...)
			}
			errorFocused := func(step string) {
				t.Helper()
				if !b.eval(`document.title.startsWith("Error: ") && document.activeElement.id === "form-error" && document.getElementById("user_code").getAttribute("aria-invalid") === "true"`) {
					title, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.title + " / focus on #" + document.activeElement.id`))
					t.Errorf("%s: want an Error: title and focus on the error summary, got %s", step, title)
				}
			}

			b.open("/device")
			if !b.eval(`document.querySelector("#device-continue") !== null`) {
				t.Fatal("/device has no Continue button: a code is not reviewed before it is decided")
			}
			check("code form")
			b.submit("#device-continue")
			check("code form sent empty")
			errorFocused("code form sent empty")

			code := deviceCode(t, s, agent)
			if status := b.open("/device?user_code=" + code); status != 200 {
				t.Fatalf("review from the link: %d", status)
			}
			check("review from a link")
			if got := b.value("#user_code"); got != "" {
				t.Fatalf("the link filled in the code: %q", got)
			}
			if got := b.text("#device-agent"); !strings.Contains(got, "<img src=x onerror=alert(1)>") {
				t.Errorf("the agent is not shown as text: %q", got)
			}
			if status := b.submit("#device-approve"); status != http.StatusUnprocessableEntity {
				t.Fatalf("Approve without the code: %d", status)
			}
			check("review, Approve pressed without the code")
			errorFocused("review, Approve pressed without the code")

			b.typeInto("#user_code", strings.ToLower(code))
			b.submit("#device-approve")
			b.see("The CLI is signed in")
			check("approved")

			for step, v := range found {
				if len(v) > 0 {
					t.Errorf("%s: %s", step, strings.Join(v, "\n    "))
				}
			}
		})
	}
}
