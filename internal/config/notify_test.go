package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
)

func resolve(t *testing.T, args ...string) (config.Serve, error) {
	t.Helper()
	var c config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return c, c.Resolve(fs)
}

func TestNotificationOptionsAreChecked(t *testing.T) {
	const secret = "test-webhook-secret-0123456789"
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--smtp-url", "smtp://127.0.0.1:2525"}, "--smtp-from is required"},
		{[]string{"--smtp-url", "smtp://127.0.0.1:2525", "--smtp-from", "nobody"}, "not an email address"},
		{[]string{"--smtp-url", "http://mail.example.com", "--smtp-from", "a@example.com"}, "smtp://"},
		{[]string{"--smtp-url", "smtp://user:hunter2@mail.example.com:bad", "--smtp-from", "a@example.com"}, "--smtp-url"},
		{[]string{"--smtp-from", "a@example.com"}, "needs --smtp-url"},
		{[]string{"--webhook-url", "https://hooks.example.com/x"}, "--webhook-secret"},
		{[]string{"--webhook-url", "https://hooks.example.com/x", "--webhook-secret", "short"}, "at least 16"},
		{[]string{"--webhook-url", "hooks.example.com", "--webhook-secret", secret}, "absolute http"},
		{[]string{"--webhook-secret", secret}, "needs --webhook-url"},
		{[]string{"--smtp-url-file", "/nonexistent/smtp-url"}, "--smtp-url-file"},
	} {
		_, err := resolve(t, c.flags...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v; want an error containing %q", c.flags, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("serve %v: error %q shows the SMTP password", c.flags, err)
		}
	}
}

func TestNotificationSecretsComeFromFiles(t *testing.T) {
	dir := t.TempDir()
	urlFile, secretFile := filepath.Join(dir, "smtp-url"), filepath.Join(dir, "webhook-secret")
	if err := os.WriteFile(urlFile, []byte("smtps://mailer:s3cret@mail.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := resolve(t, "--smtp-url-file", urlFile, "--smtp-from", "Latchkey <latchkey@example.com>",
		"--webhook-url", "https://hooks.example.com/latchkey", "--webhook-secret-file", secretFile)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if c.SMTPURL != "smtps://mailer:s3cret@mail.example.com" || c.WebhookSecret != "0123456789abcdef0123" || !c.Notify() {
		t.Fatalf("resolved SMTP URL %q, webhook secret %q", c.SMTPURL, c.WebhookSecret)
	}
	if c, err := resolve(t); err != nil || c.Notify() {
		t.Fatalf("defaults: notify=%v, %v; want notifications off", c.Notify(), err)
	}
}
