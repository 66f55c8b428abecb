package identity

import (
	"slices"
	"testing"
)

// TestGroupMembersNamedManyTimesAreCheckedOnce: a group body may name one
// member thousands of times; each user is checked (a store lookup) once.
func TestGroupMembersNamedManyTimesAreCheckedOnce(t *testing.T) {
	refs := []scimRef{{Value: "b"}, {Value: "a"}}
	for range 20000 {
		refs = append(refs, scimRef{Value: "a"})
	}
	refs = append(refs, scimRef{Value: "c"}, scimRef{Value: "b"})
	if got := memberIDs(refs); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Fatalf("memberIDs of 20,004 references to 3 users: %d ids (first %q); want [b a c]", len(got), got[:min(len(got), 5)])
	}
}
