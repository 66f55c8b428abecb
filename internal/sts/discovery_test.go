package sts_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/sts"
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
