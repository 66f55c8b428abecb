package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// Run runs the conformance suite against the backend that open creates.
// open must return a fresh, empty, migrated store for the given (sub)test;
// Run closes it when that subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range tests() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

func tests() []test {
	var all []test
	all = append(all, userTests()...)
	all = append(all, ownerTests()...)
	all = append(all, idpUserNameTests()...)
	all = append(all, scimListTests()...)
	all = append(all, scimGroupsListTests()...)
	all = append(all, tokenTests()...)
	all = append(all, listTokenTests()...)
	all = append(all, usageTests()...)
	all = append(all, verifyTests()...)
	all = append(all, sessionTests()...)
	all = append(all, miscTests()...)
	all = append(all, notificationTests()...)
	all = append(all, identityTests()...)
	all = append(all, concurrencyTests()...)
	all = append(all, federationTests()...)
	all = append(all, atomicTests()...)
	return all
}

// zone is a non-UTC zone with a half-hour offset: times handed to the store
// are in it, and must come back in UTC as the same instant.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// base is the suite's "now": in zone, with nanoseconds the store must drop.
var base = time.Date(2031, time.March, 4, 5, 6, 7, 891234567, zone)

// newID returns a UUIDv7 string, as the service creates.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// digest returns 32 random bytes.
func digest() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func ptr[T any](v T) *T { return &v }

// micro is what the store keeps of a time.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(micro(*t))
}

func newUser(name string) *store.User {
	return &store.User{
		ID: newID(), Username: name, Role: store.RoleMember, Kind: store.KindPerson,
		LoginType: "password", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA",
		CreatedAt: base, UpdatedAt: base,
	}
}

func mustUser(t *testing.T, s store.Store, name string) *store.User {
	t.Helper()
	u := newUser(name)
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func newToken(userID, name string) *store.Token {
	return &store.Token{
		ID: newID(), UserID: userID, Kind: store.TokenPersonal, Name: name,
		Scopes: []string{"repo"}, Digest: digest(), Hint: "abcd",
		CreatedAt: base, UpdatedAt: base, ExpiresAt: ptr(base.Add(90 * 24 * time.Hour)),
	}
}

func mustToken(t *testing.T, s store.Store, userID, name string, mods ...func(*store.Token)) *store.Token {
	t.Helper()
	tk := newToken(userID, name)
	for _, m := range mods {
		m(tk)
	}
	if err := s.CreateToken(t.Context(), tk); err != nil {
		t.Fatalf("CreateToken(%q): %v", name, err)
	}
	return tk
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %v", what, target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want errors.Is(err, %v)", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// equal fails when got differs from want. Times compare as instants and
// must be in UTC; nil and empty slices differ.
func equal(t *testing.T, what string, want, got any) {
	t.Helper()
	var diffs []string
	compare("", reflect.ValueOf(want), reflect.ValueOf(got), &diffs)
	if len(diffs) > 0 {
		t.Fatalf("%s: differs from what was stored:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

var timeType = reflect.TypeFor[time.Time]()

func compare(path string, w, g reflect.Value, diffs *[]string) {
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %v, got %v", path, w, g))
		}
		return
	}
	if w.Type() != g.Type() {
		*diffs = append(*diffs, fmt.Sprintf("%s: want type %s, got %s", path, w.Type(), g.Type()))
		return
	}
	if w.Type() == timeType {
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !wt.Equal(gt) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, wt.Format(time.RFC3339Nano), gt.Format(time.RFC3339Nano)))
		} else if gt.Location() != time.UTC {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s is not in UTC", path, gt))
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				*diffs = append(*diffs, fmt.Sprintf("%s: want %v, got %v", path, show(w), show(g)))
			}
			return
		}
		compare(path, w.Elem(), g.Elem(), diffs)
	case reflect.Struct:
		for i := range w.NumField() {
			compare(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i), diffs)
		}
	case reflect.Slice:
		if w.IsNil() != g.IsNil() {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %#v, got %#v", path, w.Interface(), g.Interface()))
			return
		}
		if w.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(w.Bytes(), g.Bytes()) {
				*diffs = append(*diffs, fmt.Sprintf("%s: want %x, got %x", path, w.Bytes(), g.Bytes()))
			}
			return
		}
		if w.Len() != g.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %d items %v, got %d %v", path, w.Len(), w.Interface(), g.Len(), g.Interface()))
			return
		}
		for i := range w.Len() {
			compare(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i), diffs)
		}
	case reflect.Map:
		if w.Len() != g.Len() || w.IsNil() != g.IsNil() {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %v, got %v", path, w.Interface(), g.Interface()))
			return
		}
		for _, k := range w.MapKeys() {
			compare(fmt.Sprintf("%s[%v]", path, k), w.MapIndex(k), g.MapIndex(k), diffs)
		}
	default:
		if w.Interface() != g.Interface() {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %#v, got %#v", path, w.Interface(), g.Interface()))
		}
	}
}

func show(v reflect.Value) any {
	if v.IsNil() {
		return "nil"
	}
	return v.Elem().Interface()
}

// pageAll walks a list with the given page size and returns every ID in
// the order seen, failing if a page is larger than asked or a loop is seen.
func pageAll(t *testing.T, limit int, list func(cursor string) ([]string, error)) []string {
	t.Helper()
	var all []string
	cursor := ""
	for range 10000 {
		ids, err := list(cursor)
		noErr(t, "list page", err)
		if ids == nil {
			t.Fatalf("list page after %q: got a nil slice, want non-nil", cursor)
		}
		if len(ids) > limit {
			t.Fatalf("list page: got %d items, limit %d", len(ids), limit)
		}
		if len(ids) == 0 {
			return all
		}
		all = append(all, ids...)
		cursor = ids[len(ids)-1]
	}
	t.Fatalf("list paging did not end")
	return nil
}

// sameOrder fails unless got lists exactly want, in order.
func sameOrder(t *testing.T, what string, want, got []string) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Fatalf("%s: got %d ids, want %d (in order)\n got: %v\nwant: %v", what, len(got), len(want), short(got), short(want))
	}
}

func short(ids []string) []string {
	if len(ids) > 6 {
		return append(append(slices.Clone(ids[:3]), "..."), ids[len(ids)-3:]...)
	}
	return ids
}

func sortedDesc(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
