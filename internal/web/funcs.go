package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

//go:embed static
var staticFS embed.FS

// assetVersions maps a static file name to a short hash of its content, so
// its URL changes whenever it does and browsers may cache it for good.
type assetVersions map[string]string

func hashAssets() assetVersions {
	out := assetVersions{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
}

// static serves the embedded assets; versioned URLs are cached for a year.
func (h *Handler) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		ver, ok := h.assets[name]
		if !ok || path.Clean(name) != name {
			h.protect(http.HandlerFunc(h.notFound)).ServeHTTP(w, r)
			return
		}
		if err := repeatedQuery(r, []string{"v"}); err != nil {
			h.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.refuseRepeated(w, r, nil, err) })).ServeHTTP(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == ver {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		http.ServeFileFS(w, r, sub, name)
	})
}

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string { return "/static/" + name + "?v=" + h.assets[name] },
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
		"prefixed": func(base, path string) string {
			if path == "" {
				return ""
			}
			return base + path
		},
		"sub": func(a, b int) int { return a - b },
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
	}
}

// timeText is a time as pages show it: relative ("in 3 days"), absolute in
// UTC, and machine-readable for <time datetime>.
type timeText struct {
	Set  bool
	ISO  string
	Abs  string
	Date string
	Rel  string
}

func (h *Handler) timeText(t *time.Time) timeText {
	if t == nil || t.IsZero() {
		return timeText{}
	}
	u := t.UTC()
	return timeText{Set: true, ISO: u.Format(time.RFC3339), Abs: u.Format("Jan 2, 2006 15:04 UTC"),
		Date: u.Format("Jan 2, 2006"), Rel: relative(u, h.d.Now())}
}

// relative says how far t is from now in words, rounded to the nearest
// unit: a token made for 30 days expires "in 30 days", not "in 29 days"
// a second after it was made.
func relative(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if !future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour-30*time.Second:
		s = count(nearest(d, time.Minute), "minute")
	case d < 48*time.Hour-30*time.Minute:
		s = count(nearest(d, time.Hour), "hour")
	case d < 60*24*time.Hour:
		s = count(nearest(d, 24*time.Hour), "day")
	default:
		return "on " + t.Format("Jan 2, 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// nearest is d in units, rounded half up.
func nearest(d, unit time.Duration) int { return int((d + unit/2) / unit) }

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// humanDuration writes a lifetime for people: "30 days", "12 hours".
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "none"
	case d%(24*time.Hour) == 0:
		return count(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return count(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return count(int(d/time.Minute), "minute")
	}
	return d.String()
}

// effectiveExpiry is when t stops working under the policy in force.
func (h *Handler) effectiveExpiry(ctx context.Context, t *store.Token) *time.Time {
	return service.EffectiveExpiry(t, h.d.Policy.Current(ctx))
}
