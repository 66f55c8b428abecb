package config_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/config"
)

func TestMemoryLimitIsReadAndChecked(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  int64
	}{
		{nil, 64<<20 + 100_000*1_200},
		{[]string{"--cache-size", "0"}, 64 << 20},
		{[]string{"--cache-size", "1000000", "--memory-limit", "auto"}, 64<<20 + 1_000_000*1_200},
		{[]string{"--memory-limit", "off"}, 0},
		{[]string{"--memory-limit", "512MiB"}, 512 << 20},
		{[]string{"--memory-limit", "1GB"}, 1_000_000_000},
		{[]string{"--memory-limit", "268435456"}, 256 << 20},
	} {
		cfg, err := resolve(t, c.flags...)
		if err != nil {
			t.Errorf("serve %v: %v", c.flags, err)
			continue
		}
		got, err := cfg.MemoryLimitBytes()
		if err != nil || got != c.want {
			t.Errorf("serve %v: memory limit %d, %v; want %d", c.flags, got, err, c.want)
		}
	}
	if got := config.AutoMemoryLimit(100_000); got != 64<<20+120_000_000 {
		t.Errorf("AutoMemoryLimit(100000) = %d", got)
	}
	for _, c := range []struct {
		value, want string
	}{
		{"lots", "is not a size"},
		{"-5MiB", "is not a size"},
		{"1KiB", "too small"},
		{"16MiB", "too small"},
	} {
		_, err := resolve(t, "--memory-limit", c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("--memory-limit %s: %v; want an error naming the flag and saying %q", c.value, err, c.want)
		}
	}
	t.Setenv("LATCHKEY_MEMORY_LIMIT", "300MiB")
	cfg, err := resolve(t)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.MemoryLimitBytes(); got != 300<<20 {
		t.Errorf("$LATCHKEY_MEMORY_LIMIT=300MiB: limit %d", got)
	}
}
