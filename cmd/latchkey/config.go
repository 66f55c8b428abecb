package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// configFile is what `latchkey login` stores: one context per server (or
// per --context name), each with the credential to use there. It holds
// secrets, so it is written 0600 in a 0700 directory and refused when
// others can read it.
type configFile struct {
	CurrentContext string                    `json:"current_context"`
	Contexts       map[string]*storedContext `json:"contexts"`

	path string
}

// storedContext is one server and the credential used with it.
type storedContext struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	Username string `json:"username,omitempty"`
	// Auth is "session" for a password or web login, "token" for an access
	// token given with --token.
	Auth      string     `json:"auth"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	SavedAt   time.Time  `json:"saved_at"`
}

const (
	authSession = "session"
	authToken   = "token"
)

// configPath is $XDG_CONFIG_HOME/latchkey/config.json, or
// ~/.config/latchkey/config.json when XDG_CONFIG_HOME is unset.
func configPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fail(exitConfig, fmt.Errorf("cannot find the config directory: set XDG_CONFIG_HOME or HOME (%v)", err))
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "latchkey", "config.json"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig() (*configFile, error) {
	path, err := configPath()
	if err != nil {
		return nil, err
	}
	cfg := &configFile{Contexts: map[string]*storedContext{}, path: path}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fail(exitConfig, fmt.Errorf("config file %s: %w", path, err))
	}
	if err := checkPrivate(path, info); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(exitConfig, fmt.Errorf("config file %s: %w", path, err))
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fail(exitConfig, fmt.Errorf("config file %s is not valid JSON (%v); fix it, or delete it and log in again", path, err))
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]*storedContext{}
	}
	return cfg, nil
}

// checkPrivate refuses a config file that anyone but its owner may read or
// write: it holds tokens, and a shared one may already have been copied.
func checkPrivate(path string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fail(exitConfig, fmt.Errorf("config file %s is not a regular file", path))
	}
	if runtime.GOOS == "windows" {
		return nil // permission bits mean nothing there; the profile directory is private
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fail(exitConfig, fmt.Errorf(
			"config file %s is accessible by other users (mode %04o) and holds tokens; refusing to use it. Run `chmod 600 %s`, and revoke its tokens if others may have copied them",
			path, perm, path))
	}
	return nil
}

// save writes the config atomically: a private temporary file renamed over
// the old one, so a crash never leaves half a file or a readable copy.
func (c *configFile) save() error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(exitConfig, fmt.Errorf("create config directory %s: %w", dir, err))
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fail(exitConfig, fmt.Errorf("encode config: %w", err))
	}
	f, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return fail(exitConfig, fmt.Errorf("write config file in %s: %w", dir, err))
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fail(exitConfig, fmt.Errorf("write config file %s: %w", tmp, err))
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fail(exitConfig, fmt.Errorf("write config file %s: %w", tmp, err))
	}
	if err := f.Close(); err != nil {
		return fail(exitConfig, fmt.Errorf("write config file %s: %w", tmp, err))
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fail(exitConfig, fmt.Errorf("write config file %s: %w", c.path, err))
	}
	return nil
}

// names returns the context names in order.
func (c *configFile) names() []string {
	out := make([]string, 0, len(c.Contexts))
	for n := range c.Contexts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// lookup returns the named context, or a not-found error that lists the
// ones that exist.
func (c *configFile) lookup(name string) (*storedContext, error) {
	if ctx, ok := c.Contexts[name]; ok {
		return ctx, nil
	}
	if len(c.Contexts) == 0 {
		return nil, fail(exitNotFound, fmt.Errorf("no context named %q: you have not logged in anywhere yet; run `latchkey login URL`", name))
	}
	return nil, fail(exitNotFound, fmt.Errorf("no context named %q; `latchkey context list` shows the %d you have", name, len(c.Contexts)))
}

// byURL returns the name of a context for the server at u, preferring the
// current one.
func (c *configFile) byURL(u string) (string, bool) {
	if ctx, ok := c.Contexts[c.CurrentContext]; ok && sameServer(ctx.URL, u) {
		return c.CurrentContext, true
	}
	for _, n := range c.names() {
		if sameServer(c.Contexts[n].URL, u) {
			return n, true
		}
	}
	return "", false
}

// contextName derives a context's default name from its server URL: the
// host and port, plus any path prefix.
func contextName(u *url.URL) string {
	return u.Host + u.Path
}

// sameServer reports whether two server URLs name the same server.
func sameServer(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return ua.Scheme == ub.Scheme && hostPort(ua) == hostPort(ub) &&
		trimSlash(ua.Path) == trimSlash(ub.Path)
}

// hostPort is u's host with its port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
