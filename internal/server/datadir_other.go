//go:build !unix

package server

import "os"

// tryLock does not lock where flock is missing: there, keeping to one
// server per data directory is the operator's.
func tryLock(*os.File) (held bool, err error) { return false, nil }

func unlock(*os.File) {}
