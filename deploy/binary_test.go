package deploy_test

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the static binary of this test run, built once on first use
// and removed by TestMain.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// staticBinary builds ./cmd/latchkey the way deploy/container/build.sh does
// (CGO_ENABLED=0, -trimpath) and returns its path.
func staticBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "latchkey-deploy-test-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "latchkey")
		cmd := exec.Command("go", "build", "-trimpath", "-o", built.path, "./cmd/latchkey")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("CGO_ENABLED=0 go build ./cmd/latchkey: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// TestBinaryIsStatic checks what an image FROM scratch relies on: the
// binary has no ELF interpreter and needs no shared library.
func TestBinaryIsStatic(t *testing.T) {
	path := staticBinary(t)
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an ELF interpreter (PT_INTERP): it is dynamically linked and cannot run FROM scratch; build with CGO_ENABLED=0", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v; FROM scratch has none", path, libs)
	}
	if out, err := exec.Command(path, "version").CombinedOutput(); err != nil {
		t.Errorf("%s version: %v: %s", path, err, out)
	}
}
