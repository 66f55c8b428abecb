package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

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
			cols[i] = "-"
		}
		cols[i] = strings.ReplaceAll(cols[i], "\t", " ")
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
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], v)
	}
	return tw.Flush()
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
