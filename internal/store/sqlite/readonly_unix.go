//go:build unix

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// notWritable returns why the process may not write the file or directory
// at path (permission denied, an immutable attribute, a read-only file
// system), or nil when it may, or when path does not exist (a -wal or
// -shm file not created yet).
func notWritable(path string) error {
	err := syscall.Access(path, 2) // W_OK
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS) {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}
