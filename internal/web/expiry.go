package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// Expiration choices of the console's forms, besides lifetimes like "30d".
const (
	expiryCustom = "custom" // a date picked in expires_on
	expiryNever  = "never"
	expirySame   = "" // regenerate: keep the token's lifetime
)

// presetDays are the lifetimes offered, when the policy allows them.
var presetDays = []int{7, 30, 60, 90, 180}

// expiryOption is one choice of the expiration select.
type expiryOption struct {
	Value, Label string
	Selected     bool
}

// expiryField is the expiration control of a form.
type expiryField struct {
	Options    []expiryOption
	CustomDate string // YYYY-MM-DD
	MinDate    string
	MaxDate    string
	Policy     string // the policy's limits in words
	Error      string // shown next to the control
}

// Custom reports whether the custom date is the chosen expiration: an
// error is then the date's, and marks the date field rather than the list.
func (f expiryField) Custom() bool {
	for _, o := range f.Options {
		if o.Selected {
			return o.Value == "custom"
		}
	}
	return false
}

// defaultExpiry is the choice preselected under policy p: the default
// lifetime (capped by the maximum), or "never" when the policy's default is
// no expiration.
func defaultExpiry(p store.Policy) string {
	d := p.DefaultLifetime
	if d <= 0 {
		if p.AllowNoExpiry && p.MaxLifetime == 0 {
			return expiryNever
		}
		d = 180 * 24 * time.Hour
	}
	if p.MaxLifetime > 0 && d > p.MaxLifetime {
		d = p.MaxLifetime
	}
	return service.FormatDuration(d)
}

// noExpiryAllowed mirrors the service's rule for "no expiration".
func noExpiryAllowed(p store.Policy) bool { return p.AllowNoExpiry && p.MaxLifetime == 0 }

// expiryChoices builds the expiration control: the presets the policy
// allows, the policy's default and maximum when they are not presets, a
// lifetime asked for by a link, a custom date and "no expiration" when
// allowed. selected is what to preselect; sameLabel, when not empty, adds a
// first choice that keeps the current lifetime (regeneration).
func (h *Handler) expiryChoices(p store.Policy, selected, customDate, sameLabel string) expiryField {
	now := h.d.Now().UTC()
	f := expiryField{CustomDate: customDate, MinDate: now.AddDate(0, 0, 1).Format(time.DateOnly)}
	if p.MaxLifetime > 0 {
		f.MaxDate = now.Add(p.MaxLifetime - 24*time.Hour).Format(time.DateOnly)
		f.Policy = "Your organisation allows tokens to live at most " + humanDuration(p.MaxLifetime) + "."
	} else if !noExpiryAllowed(p) {
		f.Policy = "Your organisation requires every token to expire."
	}
	def := defaultExpiry(p)
	if sameLabel != "" {
		f.Options = append(f.Options, expiryOption{Value: expirySame, Label: sameLabel})
	}
	var lifetimes []time.Duration
	for _, n := range presetDays {
		lifetimes = append(lifetimes, time.Duration(n)*24*time.Hour)
	}
	for _, extra := range []string{def, selected} {
		if d, err := service.ParseDuration(extra); err == nil && d >= time.Minute && !containsDuration(lifetimes, d) {
			lifetimes = insertSorted(lifetimes, d)
		}
	}
	if p.MaxLifetime > 0 && !containsDuration(lifetimes, p.MaxLifetime) {
		lifetimes = insertSorted(lifetimes, p.MaxLifetime)
	}
	for _, d := range lifetimes {
		if p.MaxLifetime > 0 && d > p.MaxLifetime {
			continue
		}
		v := service.FormatDuration(d)
		label := humanDuration(d) + " (" + now.Add(d).Format("Jan 2, 2006") + ")"
		if v == def && sameLabel == "" {
			label += " — default"
		}
		f.Options = append(f.Options, expiryOption{Value: v, Label: label})
	}
	f.Options = append(f.Options, expiryOption{Value: expiryCustom, Label: "Custom date…"})
	if noExpiryAllowed(p) {
		f.Options = append(f.Options, expiryOption{Value: expiryNever, Label: "No expiration"})
	}
	want := selected
	if want == "" && sameLabel == "" {
		want = def
	}
	want = canonicalExpiry(want)
	for i := range f.Options {
		if f.Options[i].Value == want {
			f.Options[i].Selected = true
			return f
		}
	}
	if len(f.Options) > 0 {
		f.Options[0].Selected = true
	}
	return f
}

// canonicalExpiry writes a lifetime the way the options do ("720h" → "30d").
func canonicalExpiry(v string) string {
	if v == expiryCustom || v == expiryNever || v == expirySame {
		return v
	}
	if d, err := service.ParseDuration(v); err == nil {
		return service.FormatDuration(d)
	}
	return v
}

func containsDuration(ds []time.Duration, d time.Duration) bool { return slices.Contains(ds, d) }

func insertSorted(ds []time.Duration, d time.Duration) []time.Duration {
	i, _ := slices.BinarySearch(ds, d)
	return slices.Insert(ds, i, d)
}

// parseExpiry reads the expiration control of a posted form. A custom date
// means the end of that day, UTC.
func parseExpiry(r *http.Request) (service.Expiry, error) {
	switch v := strings.TrimSpace(r.PostFormValue("expiration")); v {
	case expirySame:
		return service.Expiry{}, nil
	case expiryNever:
		return service.Expiry{NoExpiry: true}, nil
	case expiryCustom:
		raw := strings.TrimSpace(r.PostFormValue("expires_on"))
		if raw == "" {
			return service.Expiry{}, fieldErrorf("expiration", "Choose the date the token should expire on, or pick one of the lifetimes.")
		}
		day, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			return service.Expiry{}, fieldErrorf("expiration", "%q is not a date; write it as YYYY-MM-DD, like 2030-01-31.", raw)
		}
		at := day.Add(24*time.Hour - time.Second)
		return service.Expiry{ExpiresAt: &at}, nil
	default:
		return service.Expiry{ExpiresIn: v}, nil
	}
}
