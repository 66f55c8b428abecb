package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func TestPageLimitDefaultsAndCaps(t *testing.T) {
	for in, want := range map[int]int{-1: 100, 0: 100, 1: 1, 250: 250, 1000: 1000, 1001: 1000, 1 << 30: 1000} {
		if got := store.PageLimit(in); got != want {
			t.Errorf("PageLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestMergeRecentIPsKeepsDistinctMostRecentFirst(t *testing.T) {
	for _, c := range []struct {
		name   string
		stored []string
		use    store.TokenUse
		newer  bool
		want   []string
	}{
		{"first use", nil, store.TokenUse{IP: "a"}, true, []string{"a"}},
		{"newer batch goes first", []string{"x", "y"}, store.TokenUse{IP: "a", IPs: []string{"a", "b"}}, true, []string{"a", "b", "x", "y"}},
		{"older batch goes after", []string{"x", "y"}, store.TokenUse{IP: "a", IPs: []string{"a", "x"}}, false, []string{"x", "y", "a"}},
		{"duplicates collapse", []string{"a", "b"}, store.TokenUse{IP: "b", IPs: []string{"b", "a"}}, true, []string{"b", "a"}},
		{"IP missing from IPs", nil, store.TokenUse{IP: "a", IPs: []string{"b"}}, true, []string{"a", "b"}},
		{"empty strings dropped", []string{""}, store.TokenUse{IPs: []string{"", "a"}}, true, []string{"a"}},
		{"keeps five", []string{"1", "2", "3", "4", "5"}, store.TokenUse{IP: "6"}, true, []string{"6", "1", "2", "3", "4"}},
		{"nothing", nil, store.TokenUse{}, true, []string{}},
	} {
		got := store.MergeRecentIPs(c.stored, c.use, c.newer)
		if !slices.Equal(got, c.want) || got == nil {
			t.Errorf("%s: MergeRecentIPs = %#v, want %#v", c.name, got, c.want)
		}
	}
}

func TestTruncateIsUTCMicroseconds(t *testing.T) {
	in := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", -3600))
	got := store.Truncate(in)
	if !got.Equal(time.Date(2030, 1, 2, 4, 4, 5, 123456000, time.UTC)) || got.Location() != time.UTC {
		t.Fatalf("Truncate = %v", got)
	}
	if store.TruncatePtr(nil) != nil {
		t.Fatal("TruncatePtr(nil) != nil")
	}
	if p := store.TruncatePtr(&in); p == &in || !p.Equal(got) {
		t.Fatal("TruncatePtr must return a new, truncated pointer")
	}
}
