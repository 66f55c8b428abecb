package server

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		pid := 0
		if b, err := os.ReadFile(path); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if pid == os.Getpid() {
			// Another App of this very process (tests run several in
			// one): the process holds the lock already.
			return func() {}, nil
		}
		holder := ""
		if pid > 0 {
			holder = fmt.Sprintf(" (pid %d)", pid)
		}
		return nil, fmt.Errorf("data directory %s is in use by another latchkey serve%s: an SQLite database is served by one process at a time; stop that one first, or use --database-url with PostgreSQL for several replicas", dir, holder)
	}
	// Who holds it, for the message above; the lock itself is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { unlock(f); f.Close() }, nil
}
