package store

// Page sizes of the List methods.
const (
	// DefaultPageLimit is the page size used when a filter's Limit is zero
	// (or negative).
	DefaultPageLimit = 100
	// MaxPageLimit caps a filter's Limit so one request cannot read a whole
	// table.
	MaxPageLimit = 1000
)

// PageLimit returns the number of rows a List method returns for a filter's
// Limit: DefaultPageLimit for n <= 0, at most MaxPageLimit. Every backend uses
// it so paging behaves the same on all of them.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageLimit
	case n > MaxPageLimit:
		return MaxPageLimit
	default:
		return n
	}
}
