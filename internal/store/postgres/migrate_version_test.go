package postgres_test

import (
	"strconv"
	"strings"
)

// migrationVersion is the number a migration file starts with: numbers
// are reserved per change, so applied versions need not be contiguous.
func migrationVersion(name string) int64 {
	n, _ := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
	return n
}
