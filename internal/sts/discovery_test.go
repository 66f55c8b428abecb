package sts_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/sts"
	"github.com/latchkey/latchkey/internal/testenv"
)

func TestMetadataAdvertisesTheTokenTypesTheExchangeAccepts(t *testing.T) {
	s := start(t)
	// Read the document as any client would: by its JSON names.
	var m map[string]any
	s.JSON(t, http.MethodGet, sts.MetadataPath, "", nil, http.StatusOK, &m)
	subjects, issued := anyStrings(m["subject_token_types_supported"]), anyStrings(m["issued_token_types_supported"])
	for _, want := range []string{
		"urn:ietf:params:oauth:token-type:access_token", // a Latchkey token, exchanged for a JWT
		"urn:ietf:params:oauth:token-type:id_token",     // a workload's OIDC ID token (federation)
		"urn:ietf:params:oauth:token-type:jwt",          // any JWT from a trusted issuer (federation)
	} {
		if !slices.Contains(subjects, want) {
			t.Errorf("subject_token_types_supported %v lacks %s", subjects, want)
		}
	}
	for _, want := range []string{"urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:access_token"} {
		if !slices.Contains(issued, want) {
			t.Errorf("issued_token_types_supported %v lacks %s", issued, want)
		}
	}
	if !slices.Contains(anyStrings(m["grant_types_supported"]), "urn:ietf:params:oauth:grant-type:token-exchange") {
		t.Errorf("grant_types_supported %v lacks token exchange", m["grant_types_supported"])
	}

	// Every advertised type reaches a check of the token itself; a type that
	// is not advertised is refused for its type.
	try := func(typ string) map[string]any {
		_, out := post(t, s, sts.TokenPath, url.Values{"grant_type": {sts.GrantTokenExchange},
			"subject_token": {"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, "subject_token_type": {typ}}, "")
		return out
	}
	for _, typ := range subjects {
		if out := try(typ); strings.Contains(out["error_description"].(string), "subject_token_type") {
			t.Errorf("advertised %s is refused for its type: %v", typ, out)
		}
	}
	if out := try("urn:ietf:params:oauth:token-type:saml2"); out["error"] != "invalid_request" || !strings.Contains(out["error_description"].(string), "subject_token_type") {
		t.Errorf("an unadvertised type is not refused for its type: %v", out)
	}
}

// TestDiscoveryWorksWhenTokenExchangeIsOff runs
// testdata/openid-client/discovery.mjs against a server on PostgreSQL
// without a signing-key secret, where token exchange is off but
// introspection, revocation and the device flow work: openid-client's
// discovery() must find them, and the metadata must list only what works
// there (no token-exchange grant, no jwks_uri) with the fields RFC 8414
// requires.
func TestDiscoveryWorksWhenTokenExchangeIsOff(t *testing.T) {
	s := servertest.StartPostgres(t, testenv.PostgresDSN(t))
	var m map[string]any
	s.JSON(t, http.MethodGet, sts.MetadataPath, "", nil, http.StatusOK, &m)
	if m["issuer"] != s.URL || m["token_endpoint"] != s.URL+sts.TokenPath || m["introspection_endpoint"] != s.URL+sts.IntrospectPath ||
		m["revocation_endpoint"] != s.URL+sts.RevokePath || m["device_authorization_endpoint"] != s.URL+sts.DeviceAuthorizationPath {
		t.Errorf("metadata does not name the endpoints that work: %v", m)
	}
	if rt, ok := m["response_types_supported"].([]any); !ok || len(rt) != 0 {
		t.Errorf("response_types_supported (RFC 8414: required) = %v, want []", m["response_types_supported"])
	}
	if got := anyStrings(m["grant_types_supported"]); !slices.Equal(got, []string{sts.GrantDeviceCode}) {
		t.Errorf("grant_types_supported = %v, want only the device grant", got)
	}
	for _, absent := range []string{"jwks_uri", "subject_token_types_supported", "issued_token_types_supported", "access_token_signing_alg_values_supported"} {
		if v, ok := m[absent]; ok {
			t.Errorf("metadata lists %s = %v, which needs token exchange", absent, v)
		}
	}

	node := testenv.LookPath(t, "node", "the Debian package nodejs")
	modules := openIDClientModules(t)
	admin := s.AdminSession(t)
	caller := s.CreateToken(t, admin, map[string]any{"name": "resource_server", "scopes": []string{"introspect"}})
	pat := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo:read"}})
	cmd := exec.Command(node, "testdata/openid-client/discovery.mjs")
	cmd.Env = append(os.Environ(), "LK_URL="+s.URL, "LK_CLIENT_SECRET="+caller.Secret, "LK_PAT="+pat.Secret, "NODE_PATH="+modules)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("discovery.mjs: %v\n%s", err, out)
	}
	var got struct {
		Metadata          map[string]any `json:"metadata"`
		Introspected      map[string]any `json:"introspected"`
		Revoked           bool           `json:"revoked"`
		IntrospectedAfter map[string]any `json:"introspected_after"`
		Failed            map[string]any `json:"failed"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("discovery.mjs printed %s: %v", out, err)
	}
	if got.Failed != nil {
		t.Fatalf("openid-client failed: %v (so far: %s)", got.Failed, out)
	}
	if got.Metadata["issuer"] != s.URL || got.Introspected["active"] != true || got.Introspected["scope"] != "repo:read" ||
		!got.Revoked || got.IntrospectedAfter["active"] != false {
		t.Fatalf("openid-client through discovery: %s", out)
	}
}
