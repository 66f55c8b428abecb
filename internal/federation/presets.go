package federation

// Preset fills in a trust policy for a well-known issuer: its issuer URL
// (empty when it is per installation), a default audience and the claims
// worth conditioning on, with placeholder values to replace.
type Preset struct {
	Name        string
	Description string
	Issuer      string
	Audience    string
	Conditions  map[string]string
}

// Presets returns the built-in presets: github-actions, gitlab-ci and
// kubernetes.
func Presets() []Preset {
	return []Preset{
		{
			Name:        "github-actions",
			Description: "GitHub Actions OIDC tokens (permissions: id-token: write); condition on repository and ref, or on environment",
			Issuer:      "https://token.actions.githubusercontent.com",
			Audience:    "latchkey",
			Conditions:  map[string]string{"repository": "OWNER/REPO", "ref": "refs/heads/main"},
		},
		{
			Name:        "gitlab-ci",
			Description: "GitLab CI id_tokens (set aud to the policy's audience); condition on project_path and ref (use your instance URL as issuer when self-hosted)",
			Issuer:      "https://gitlab.com",
			Audience:    "latchkey",
			Conditions:  map[string]string{"project_path": "GROUP/PROJECT", "ref": "main", "ref_type": "branch"},
		},
		{
			Name:        "kubernetes",
			Description: "Kubernetes projected service-account tokens; the issuer is your cluster's --service-account-issuer",
			Issuer:      "",
			Audience:    "latchkey",
			Conditions:  map[string]string{"sub": "system:serviceaccount:NAMESPACE:SERVICEACCOUNT"},
		},
	}
}

// LookupPreset returns the preset with name.
func LookupPreset(name string) (Preset, bool) {
	for _, p := range Presets() {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}
