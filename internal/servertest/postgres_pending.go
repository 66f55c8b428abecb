package servertest

import "testing"

// NewPostgresSchema returns a DSN on a fresh schema, dropped after the test.
func NewPostgresSchema(t testing.TB, dsn string) string {
	t.Skip("postgres backend pending")
	return ""
}
