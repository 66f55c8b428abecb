package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Output formats of -o.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

var outputFormats = []string{outTable, outJSON, outYAML}

func (a *app) checkOutput() error {
	for _, f := range outputFormats {
		if a.output == f {
			return nil
		}
	}
	return fail(exitUsage, fmt.Errorf("-o %q is not an output format: use table, json or yaml", a.output))
}

// structured reports whether -o asks for JSON or YAML, and if so prints v
// in that format.
func (a *app) structured(v any) (bool, error) {
	switch a.output {
	case outJSON:
		return true, writeJSON(a.stdout, v)
	case outYAML:
		return true, writeYAML(a.stdout, v)
	}
	return false, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML prints v as YAML with the same field names and order as its
// JSON: the JSON is read back as a YAML node tree (JSON is YAML) and
// re-styled as block YAML.
func writeYAML(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return enc.Close()
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// table prints aligned columns for people.
type table struct{ tw *tabwriter.Writer }

func (a *app) table(headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(a.stdout, 0, 0, 3, ' ', 0)}
	t.row(headers...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		if c == "" {
			c = "-"
		}
		cols[i] = terminalText(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields prints "Label: value" lines, aligned, for one object.
func (a *app) fields(rows [][2]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		v := r[1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", terminalText(r[0]), terminalText(v))
	}
	return tw.Flush()
}

// terminalText makes text that came from the server fit to print in table
// and plain output. Names, descriptions, user agents and audit details are
// written by other people (a token's owner, any HTTP client, anyone who
// reports a leak), and a terminal obeys escape sequences: ESC, CSI (U+009B)
// or OSC in them could clear the screen, retitle the window or forge lines
// in an admin's terminal, and a right-to-left override makes text read as
// something it is not. So line breaks and tabs become spaces (a value never
// spans rows or forges a "Label: value" line), and every other control or
// invisible formatting character is shown as its Go escape (\x1b, \u202e),
// so the reader sees that it is there. JSON and YAML output stay exact.
func terminalText(s string) string {
	if isPlainText(s) {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n', r == '\r', r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), r != '\u200d' && unicode.Is(unicode.Cf, r):
			// strconv.QuoteRune writes 'x' with the escape inside.
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlainText reports whether s is printable ASCII, the common case that
// terminalText returns as it is.
func isPlainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// humanTime says when t is relative to now, the way people do: "in 5
// days", "2 hours ago", "just now".
func humanTime(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	var n int64
	var unit string
	switch {
	case d < 45*time.Second:
		if future {
			return "in a few seconds"
		}
		return "just now"
	case d < 45*time.Minute:
		n, unit = roundDiv(d, time.Minute), "minute"
	case d < 36*time.Hour:
		n, unit = roundDiv(d, time.Hour), "hour"
	case d < 60*24*time.Hour:
		n, unit = roundDiv(d, 24*time.Hour), "day"
	case d < 2*365*24*time.Hour:
		n, unit = roundDiv(d, 30*24*time.Hour), "month"
	default:
		n, unit = roundDiv(d, 365*24*time.Hour), "year"
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}

func roundDiv(d, unit time.Duration) int64 {
	n := int64((d + unit/2) / unit)
	if n < 1 {
		n = 1
	}
	return n
}

// whenOr is humanTime of t, or none when t is nil.
func (a *app) whenOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return humanTime(*t, a.now())
}

// stamp is an absolute local time for detail views.
func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

// whenStamp is "in 5 days (2026-01-02 15:04:05 UTC)", or none when nil.
func (a *app) whenStamp(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return humanTime(*t, a.now()) + " (" + stamp(*t) + ")"
}
