package server

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The data directory's lock is judged by the kernel's lock alone, never by
// the pid written in the file: in containers every server is pid 1, and a
// second container on the same volume read "1", took it for itself and
// served beside the first.
func TestADataDirectoryLockedElsewhereIsRefusedWhateverPidTheFileNames(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("flock (util-linux) is needed to hold the lock from another process")
		}
		t.Skip("flock (util-linux) is not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, dataDirLockName)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command(flock, "--no-fork", "-x", path, "sleep", "30") // no fork: killing it ends the lock
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Wait until the other process holds it, then make the file name this
	// process, as a container's pid 1 would.
	for deadline := time.Now().Add(10 * time.Second); ; {
		release, err := lockDataDir(dir, logger)
		if err != nil {
			break
		}
		release()
		if time.Now().After(deadline) {
			t.Fatal("the other process never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if release, err := lockDataDir(dir, logger); err == nil {
		release()
		t.Fatal("a data directory another process holds was taken because the lock file names this process's pid")
	} else if !strings.Contains(err.Error(), "in use by another latchkey serve") {
		t.Fatalf("refused with %q", err)
	}

	// Two Apps of one process share the lock; it is given back with the last.
	_ = holder.Process.Kill()
	_ = holder.Wait()
	r1, err := lockDataDir(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := lockDataDir(dir, logger)
	if err != nil {
		t.Fatalf("a second App of this process: %v", err)
	}
	r1()
	if out, err := exec.Command(flock, "-n", "-x", path, "true").CombinedOutput(); err == nil {
		t.Fatalf("the lock was given back while an App still used it (%s)", out)
	}
	r2()
	if out, err := exec.Command(flock, "-n", "-x", path, "true").CombinedOutput(); err != nil {
		t.Fatalf("the lock was kept after the last App gave it back: %v %s", err, out)
	}
}
