package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// series is one line of the chart.
type series struct {
	name   string
	color  string
	dashed bool
	points [][2]float64 // token count, value
}

// writeChart draws verify throughput (left) and p99 latency (right)
// against the number of tokens in the database, log-scaled, as SVG.
func writeChart(path string, rs []result, o *options) error {
	var rps, p99, ratio []series
	backends := []string{}
	for _, r := range rs {
		if !slices.Contains(backends, r.Backend) {
			backends = append(backends, r.Backend)
		}
	}
	floorDone := false
	for bi, backend := range backends {
		for _, sc := range []struct{ name, color, alt string }{
			{"verify-cached", "#1f77b4", "#17becf"}, {"verify-uncached", "#d62728", "#ff7f0e"},
		} {
			name, color := sc.name, sc.color
			if len(backends) > 1 {
				name = backend + " " + strings.TrimPrefix(sc.name, "verify-")
			}
			if bi > 0 {
				color = sc.alt
			}
			a := series{name: name, color: color, dashed: bi > 0}
			b, q := a, a
			f := series{name: "floor (SHA-256 + map)", color: "#7f7f7f", dashed: true}
			fp := f
			for _, r := range rs {
				if r.Scenario != sc.name || r.Backend != backend {
					continue
				}
				a.points = append(a.points, [2]float64{float64(r.Tokens), r.RPS})
				b.points = append(b.points, [2]float64{float64(r.Tokens), r.P99MS})
				q.points = append(q.points, [2]float64{float64(r.Tokens), r.Ratio})
				f.points = append(f.points, [2]float64{float64(r.Tokens), r.FloorRPS})
				fp.points = append(fp.points, [2]float64{float64(r.Tokens), r.FloorP99MS})
			}
			if len(a.points) == 0 {
				continue
			}
			rps, p99, ratio = append(rps, a), append(p99, b), append(ratio, q)
			if sc.name == "verify-cached" && !floorDone {
				rps, p99 = append(rps, f), append(p99, fp)
				floorDone = true
			}
		}
	}
	what := strings.Join(backends, " and ")
	if what == "" {
		what = backendName(o)
	}
	var sb strings.Builder
	h := 470 + 16*max(0, len(rps)-3)
	const w = 1200
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	sb.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	fmt.Fprintf(&sb, `<text x="%d" y="22" text-anchor="middle" font-size="15">Latchkey /auth/verify against tokens in the database (%s, %d connections, %s per point, wrk on the same 2-core machine)</text>`+"\n",
		w/2, what, o.connections, o.duration)
	panel(&sb, 70, 50, 300, 300, "requests/s", rps)
	panel(&sb, 470, 50, 300, 300, "p99 latency (ms)", p99)
	panel(&sb, 870, 50, 300, 300, "requests/s ÷ floor's, same slices", ratio)
	sb.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

// panel draws one chart with a log-scaled x axis (token count) and a
// linear y axis from 0.
func panel(sb *strings.Builder, x0, y0, pw, ph float64, ylabel string, ss []series) {
	var xs []float64
	ymax := 0.0
	for _, s := range ss {
		for _, p := range s.points {
			xs = append(xs, p[0])
			ymax = math.Max(ymax, p[1])
		}
	}
	if len(xs) == 0 {
		return
	}
	xmin, xmax := slices.Min(xs), slices.Max(xs)
	if xmax == xmin {
		xmax = xmin * 10
	}
	ymax = niceCeil(ymax * 1.1)
	lx := func(v float64) float64 {
		return x0 + (math.Log10(v)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))*pw
	}
	ly := func(v float64) float64 { return y0 + ph - v/ymax*ph }
	fmt.Fprintf(sb, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", x0, y0, pw, ph)
	for i := 0; i <= 5; i++ {
		v := ymax * float64(i) / 5
		fmt.Fprintf(sb, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			x0, x0+pw, ly(v), ly(v), x0-6, ly(v)+4, human(v))
	}
	for _, x := range dedupe(xs) {
		fmt.Fprintf(sb, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#eee"/><text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n",
			lx(x), lx(x), y0, y0+ph, lx(x), y0+ph+16, human(x))
	}
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" text-anchor="middle">tokens in the database (log scale)</text>`+"\n", x0+pw/2, y0+ph+34)
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" text-anchor="middle" transform="rotate(-90 %.0f %.0f)">%s</text>`+"\n",
		x0-46, y0+ph/2, x0-46, y0+ph/2, ylabel)
	for i, s := range ss {
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", lx(p[0]), ly(p[1])))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(sb, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		for _, p := range s.points {
			fmt.Fprintf(sb, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", lx(p[0]), ly(p[1]), s.color)
		}
		ly0 := y0 + ph + 52 + float64(i)*16
		fmt.Fprintf(sb, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="2"%s/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			x0, x0+24, ly0-4, ly0-4, s.color, dash, x0+30, ly0, s.name)
	}
}

func dedupe(xs []float64) []float64 {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func human(v float64) string {
	switch {
	case v >= 1e6 && math.Mod(v, 1e6) == 0:
		return fmt.Sprintf("%.0fM", v/1e6)
	case v >= 1e3 && math.Mod(v, 1e3) == 0:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
