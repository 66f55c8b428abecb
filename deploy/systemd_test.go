package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/testenv"
)

const unitFile = "systemd/latchkey.service"

// installedUnit writes the unit to a temporary directory with ExecStart
// pointing at binary, since systemd-analyze verify checks that the
// program exists.
func installedUnit(t *testing.T, binary string) string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/latchkey serve") {
		t.Fatalf("%s: ExecStart no longer runs /usr/local/bin/latchkey serve; update this test with it", unitFile)
	}
	unit = strings.Replace(unit, "ExecStart=/usr/local/bin/latchkey", "ExecStart="+binary, 1)
	path := filepath.Join(t.TempDir(), "latchkey.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit with a
// real binary: an unknown key, a bad value or a missing program fails it.
// systemd-analyze prints warnings (an unknown directive, for one) yet exits
// 0, so any output is a failure.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze", "Debian package systemd")
	path := installedUnit(t, staticBinary(t))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}

	// The check bites: a misspelt directive is reported.
	bad := filepath.Join(t.TempDir(), "latchkey.service")
	b, _ := os.ReadFile(path)
	os.WriteFile(bad, []byte(strings.Replace(string(b), "ProtectSystem=strict", "ProtectSystm=strict", 1)), 0o644)
	out, _ = exec.Command(analyze, "verify", bad).CombinedOutput()
	if !strings.Contains(string(out), "ProtectSystm") {
		t.Errorf("systemd-analyze verify did not report a misspelt directive: %q", out)
	}
}

// TestSystemdUnitIsHardened checks the hardening directives the
// operations guide promises, and systemd's own exposure score.
func TestSystemdUnitIsHardened(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		set[k] = append(set[k], v)
	}
	for k, want := range map[string]string{
		"DynamicUser":             "yes",
		"StateDirectory":          "latchkey",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"SystemCallFilter":        "@system-service",
		"SystemCallArchitectures": "native",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictNamespaces":      "yes",
		"EnvironmentFile":         "-/etc/latchkey/latchkey.env",
		"UMask":                   "0077",
	} {
		got, ok := set[k]
		if !ok || got[0] != want {
			t.Errorf("%s: %s=%v, want %s=%s", unitFile, k, got, k, want)
		}
	}
	if exec := set["ExecStart"]; len(exec) != 1 || !strings.Contains(exec[0], "--data-dir=%S/latchkey") {
		t.Errorf("ExecStart %v does not keep the database in the StateDirectory", exec)
	}

	analyze := testenv.LookPath(t, "systemd-analyze", "Debian package systemd")
	path := installedUnit(t, staticBinary(t))
	// --threshold=20: fail above an exposure of 2.0 ("OK"); the unit scores 1.3.
	out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.0 (%v):\n%s", err, lastLines(string(out), 3))
	}
	t.Log(lastLines(string(out), 1))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
