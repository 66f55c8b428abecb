package scope

// GitRules returns the rules for Git's smart HTTP protocol on paths of the
// form /{owner}/{repo}.git/..., and the same without ".git": fetching
// (git-upload-pack) needs repo:read on "{owner}/{repo}", pushing
// (git-receive-pack) needs repo. A ref advertisement whose service is
// missing, unknown or ambiguous needs repo, the stronger scope, because the
// rules cannot tell which service the upstream will run.
func GitRules() []Rule {
	var rules []Rule
	for _, v := range []struct{ name, repo string }{
		{"git", "{repo}.git"},
		{"git-no-suffix", "{repo}"},
	} {
		base := "/{owner}/" + v.repo
		rules = append(rules,
			Rule{Name: v.name + "-fetch-refs", Methods: []string{"GET"}, Path: base + "/info/refs",
				Query: map[string]string{"service": "git-upload-pack"}, Scope: "repo:read", Resource: "{owner}/{repo}"},
			Rule{Name: v.name + "-push-refs", Methods: []string{"GET"}, Path: base + "/info/refs",
				Query: map[string]string{"service": "git-receive-pack"}, Scope: "repo", Resource: "{owner}/{repo}"},
			Rule{Name: v.name + "-other-refs", Methods: []string{"GET"}, Path: base + "/info/refs",
				Scope: "repo", Resource: "{owner}/{repo}"},
			Rule{Name: v.name + "-fetch", Methods: []string{"POST"}, Path: base + "/git-upload-pack",
				Scope: "repo:read", Resource: "{owner}/{repo}"},
			Rule{Name: v.name + "-push", Methods: []string{"POST"}, Path: base + "/git-receive-pack",
				Scope: "repo", Resource: "{owner}/{repo}"},
		)
	}
	return rules
}
