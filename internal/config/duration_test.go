package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
)

func TestDurationsTakeDaysOnTheCommandLineTheEnvironmentAndTheConfigFile(t *testing.T) {
	c, err := resolve(t, "--max-token-lifetime", "90d", "--default-token-lifetime", "2w", "--jwt-lifetime", "15m")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxTokenLifetime != 90*24*time.Hour || c.DefaultTokenLifetime != 14*24*time.Hour || c.JWTLifetime != 15*time.Minute {
		t.Errorf("flags: max %v, default %v, jwt %v", c.MaxTokenLifetime, c.DefaultTokenLifetime, c.JWTLifetime)
	}

	t.Setenv("LATCHKEY_SESSION_DURATION", "2d")
	file := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(file, []byte("max-token-lifetime: 90d\nkey-rotation-interval: 720h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = resolve(t, "--config", file)
	if err != nil {
		t.Fatalf("config file with 90d: %v", err)
	}
	if c.MaxTokenLifetime != 90*24*time.Hour || c.KeyRotationInterval != 30*24*time.Hour || c.SessionDuration != 48*time.Hour {
		t.Errorf("file/env: max %v, rotation %v, session %v", c.MaxTokenLifetime, c.KeyRotationInterval, c.SessionDuration)
	}

	if _, err := resolve(t, "--config", writeFile(t, "max-token-lifetime: about a month\n")); err == nil || !strings.Contains(err.Error(), "30d") {
		t.Errorf("a wrong duration in the file: %v, want an error showing the accepted forms", err)
	}
}

func TestHelpShowsDurationsInDays(t *testing.T) {
	var c config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Bind(fs)
	usage := fs.FlagUsages()
	if !strings.Contains(usage, "(default 180d)") || strings.Contains(usage, "4320h0m0s") {
		t.Errorf("serve --help shows:\n%s", usage)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
