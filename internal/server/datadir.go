package server

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// dataDirLockName is the file in the data directory that a serving process
// holds locked. SQLite keeps every replica's data in one file but tells no
// other process about a revocation: a second server on the same directory
// would keep accepting a token the first one revoked for as long as its
// cache holds it. So one `latchkey serve` owns a data directory at a time.
// The lock is the kernel's (flock), released when the process ends however
// it ends, so a kill -9 leaves nothing to clean up. Commands that open the
// database briefly (migrate, admin, keys, a backup) do not take it.
const dataDirLockName = "latchkey.lock"

// lockDataDir takes the data directory for this process, or says which
// process has it. release gives it back.
// A file system that cannot lock at all (some network file systems) is
// served unlocked, with a warning.
func lockDataDir(dir string, logger *slog.Logger) (release func(), err error) {
	path := filepath.Join(dir, dataDirLockName)
	key, err := filepath.Abs(path)
	if err != nil {
		key = path
	}
	heldHere.Lock()
	defer heldHere.Unlock()
	if h := heldHere.locks[key]; h != nil {
		// Another App of this very process (tests run several in one)
		// shares the lock this process holds. Only the lock itself says
		// so, never the pid written in the file: in containers every
		// server is pid 1.
		h.users++
		return h.release(key), nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		logger.Warn("cannot lock the data directory; make sure no other latchkey serve uses it", "path", path, "err", err)
		return func() {}, nil
	}
	if held {
		f.Close()
		holder := ""
		if b, err := os.ReadFile(path); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		return nil, fmt.Errorf("data directory %s is in use by another latchkey serve%s: an SQLite database is served by one process at a time; stop that one first, or use --database-url with PostgreSQL for several replicas", dir, holder)
	}
	// Who holds it, for the message above; the lock itself is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	h := &heldLock{f: f, users: 1}
	heldHere.locks[key] = h
	return h.release(key), nil
}

// heldHere are the data directories this process has locked, by the
// absolute path of their lock file, with how many Apps use each.
var heldHere = struct {
	sync.Mutex
	locks map[string]*heldLock
}{locks: map[string]*heldLock{}}

type heldLock struct {
	f     *os.File
	users int
}

// release gives one App's use back; the last one unlocks the file.
func (h *heldLock) release(key string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			heldHere.Lock()
			defer heldHere.Unlock()
			if h.users--; h.users == 0 {
				delete(heldHere.locks, key)
				unlock(h.f)
				h.f.Close()
			}
		})
	}
}
