package sqlite

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// TestAJournaledUseReadsBackAsItWasWritten encodes uses as the journal
// keeps them and decodes them as the fold reads them: every use comes back
// the same, whether its parts fit the short form of a first use or not,
// and the short form spells out no list, object or map.
func TestAJournaledUseReadsBackAsItWasWritten(t *testing.T) {
	at := time.Date(2031, 3, 4, 23, 59, 59, 999_999_000, time.UTC)
	day := at.Format(time.DateOnly)
	first := store.TokenUse{
		TokenID: "t1", At: at, IP: "10.0.0.1", Agent: "curl/8", IPs: []string{"10.0.0.1"},
		Counts:       map[string]int64{day: 1},
		NewAddresses: []store.AddressUse{{IP: "10.0.0.1", Agent: "curl/8", At: at}},
	}
	with := func(f func(u *store.TokenUse)) store.TokenUse {
		u := first
		u.IPs = append([]string(nil), first.IPs...)
		u.Counts = map[string]int64{day: 1}
		u.NewAddresses = append([]store.AddressUse(nil), first.NewAddresses...)
		f(&u)
		return u
	}
	cases := map[string]struct {
		use   store.TokenUse
		short bool // every part in the short form
	}{
		"a first use":                  {first, true},
		"used many times that day":     {with(func(u *store.TokenUse) { u.Counts[day] = 7; u.NewAddresses = nil }), true},
		"two addresses":                {with(func(u *store.TokenUse) { u.IPs = []string{"10.0.0.1", "10.0.0.2"} }), false},
		"another address's first use":  {with(func(u *store.TokenUse) { u.NewAddresses[0].IP = "10.0.0.2" }), false},
		"first use with another agent": {with(func(u *store.TokenUse) { u.NewAddresses[0].Agent = "" }), false},
		"first use earlier":            {with(func(u *store.TokenUse) { u.NewAddresses[0].At = at.Add(-time.Second) }), false},
		"two new addresses": {with(func(u *store.TokenUse) {
			u.NewAddresses = append(u.NewAddresses, store.AddressUse{IP: "10.0.0.2", At: at})
		}), false},
		"counts of two days":     {with(func(u *store.TokenUse) { u.Counts["2031-03-03"] = 2 }), false},
		"a count of another day": {with(func(u *store.TokenUse) { u.Counts = map[string]int64{"2031-03-05": 3} }), false},
		"no count":               {with(func(u *store.TokenUse) { u.Counts = map[string]int64{} }), false},
		"no address":             {with(func(u *store.TokenUse) { u.IP, u.IPs, u.NewAddresses = "", nil, nil }), false},
		"no time":                {with(func(u *store.TokenUse) { u.At = time.Time{} }), false},
		"a time before 1970":     {with(func(u *store.TokenUse) { u.At = at.AddDate(-70, 0, 0); u.NewAddresses = nil }), false},
		"the first microsecond of a day": {with(func(u *store.TokenUse) {
			u.At = at.Add(time.Microsecond)
			u.Counts = map[string]int64{u.At.Format(time.DateOnly): 1}
			u.NewAddresses[0].At = u.At
		}), true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(toJournal(c.use))
			if err != nil {
				t.Fatal(err)
			}
			var j journalUse
			if err := json.Unmarshal(b, &j); err != nil {
				t.Fatal(err)
			}
			want := c.use
			if want.Counts == nil {
				want.Counts = map[string]int64{}
			}
			if len(want.NewAddresses) == 0 {
				want.NewAddresses = nil
			}
			if len(want.IPs) == 0 {
				want.IPs = nil
			}
			if got := j.use(c.use.TokenID); !reflect.DeepEqual(got, want) {
				t.Errorf("journaled as %s, read back as\n%+v\nwant\n%+v", b, got, want)
			}
			if spelled := strings.Count(string(b), "{") > 1 || strings.Contains(string(b), "["); c.short && spelled {
				t.Errorf("a use that fits the short form is journaled as %s", b)
			}
		})
	}
}

// TestAUseJournaledByAnEarlierVersionReadsAsBefore: a row the journal kept
// before the short form (every part spelled out) is still folded right
// after an upgrade.
func TestAUseJournaledByAnEarlierVersionReadsAsBefore(t *testing.T) {
	const row = `{"t":1930435199999999,"i":"10.0.0.1","a":"curl/8","r":["10.0.0.1"],"c":{"2031-03-04":1},` +
		`"n":[{"i":"10.0.0.1","a":"curl/8","t":1930435199999999}]}`
	var j journalUse
	if err := json.Unmarshal([]byte(row), &j); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2031, 3, 4, 23, 59, 59, 999_999_000, time.UTC)
	want := store.TokenUse{
		TokenID: "t1", At: at, IP: "10.0.0.1", Agent: "curl/8", IPs: []string{"10.0.0.1"},
		Counts:       map[string]int64{"2031-03-04": 1},
		NewAddresses: []store.AddressUse{{IP: "10.0.0.1", Agent: "curl/8", At: at}},
	}
	if got := j.use("t1"); !reflect.DeepEqual(got, want) {
		t.Errorf("read back as\n%+v\nwant\n%+v", got, want)
	}
}
