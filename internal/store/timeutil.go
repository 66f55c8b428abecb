package store

import "time"

// Truncate returns t in UTC at the precision every backend stores:
// microseconds. Backends apply it to every time they write, so a value read
// back equals the value written after Truncate.
func Truncate(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// TruncatePtr is Truncate for an optional time; nil stays nil and the
// result is a new pointer, never t itself.
func TruncatePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := Truncate(*t)
	return &v
}
