// Package store defines the persistence contract of Latchkey: the Store
// interface, the row types it moves, and the sentinel errors every backend
// returns (ErrNotFound, ErrConflict).
//
// Backends live in sub-packages (sqlite, postgres) and translate their
// driver's errors at their own edge. The conformance suite in storetest is
// the one definition of correct behaviour: every backend's test calls it.
//
// Data flows HTTP → service → store: the store holds no policy. Uniqueness
// and referential rules live in the schema, never check-then-insert.
package store
