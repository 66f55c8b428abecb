package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// NodeToolsEnv names the directory holding the npm packages the tests use
// (axe-core, @redocly/cli) under node_modules/. .ci/run installs them there
// with `npm install --prefix`.
const NodeToolsEnv = "LATCHKEY_NODE_TOOLS"

// NodeToolsDir is where the tests' npm packages are: $LATCHKEY_NODE_TOOLS,
// else ~/.cache/latchkey/node (where .ci/run puts them).
func NodeToolsDir() string {
	if d := os.Getenv(NodeToolsEnv); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "latchkey-node")
	}
	return filepath.Join(home, ".cache", "latchkey", "node")
}

// NodeModule returns the path of file inside the installed npm package pkg
// (for example "axe-core", "axe.min.js"), or stops the test saying how to
// install it.
func NodeModule(t testing.TB, pkg, file string) string {
	t.Helper()
	dir := NodeToolsDir()
	p := filepath.Join(dir, "node_modules", pkg, file)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "npm package %s not found at %s: install it with `npm install --prefix %s %s` (.ci/run does), or set %s",
			pkg, p, dir, pkg, NodeToolsEnv)
	}
	return p
}
