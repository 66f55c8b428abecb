//go:build !unix

package sqlite

// notWritable is nil where access(2) does not exist: a read-only file's
// I/O errors are then said as other I/O errors are.
func notWritable(string) error { return nil }
