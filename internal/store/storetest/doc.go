// Package storetest is the one conformance suite every store.Store backend
// must pass. A backend's test calls Run with a function that opens a fresh,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Each subtest opens its own store (subtests run in parallel) and Run closes
// it when the subtest ends. The suite pins the contract's semantics that the
// interface cannot express: sentinel errors, soft deletes, paging and
// ordering, token states, usage merging, time precision (microseconds, UTC
// on the way out whatever zone went in), non-nil empty lists, cancelled
// contexts, and behaviour under concurrent writers.
//
// Conventions the suite holds every backend to, beyond the interface docs:
//   - Create methods normalise the value they are given to what the store
//     keeps (times truncated to UTC microseconds; nil Scopes, IPAllowlist
//     and RecentIPs become empty slices; an empty PrevDigest becomes nil),
//     so after Create the caller's value equals what Get returns.
//   - Update methods ignore changes to identity fields (ID, owner, kind,
//     CreatedAt) and return the row as stored.
//   - A foreign-key violation (a token or session for an unknown user) is
//     store.ErrNotFound.
//   - AuditFilter.Since is inclusive, Until exclusive. Empty Details come
//     back nil; JSON numbers come back as float64.
package storetest
