package web

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// chartDays is how many days the usage chart covers.
const chartDays = 30

// Chart geometry, in SVG user units; the SVG scales to its container.
const (
	chartW, chartH = 480, 180
	plotLeft       = 36
	plotRight      = 8
	plotTop        = 14
	plotBottom     = 26
)

// usageChart is a token's requests per day, ready for the SVG template:
// one bar per day, y-axis ticks, a few date labels on the x axis, and the
// same numbers in words for screen readers.
type usageChart struct {
	W, H      int
	Bars      []chartBar
	Ticks     []chartTick
	XLabels   []chartLabel
	PlotLeft  int
	PlotRight int
	Baseline  int
	Total     int64
	Peak      int64
	PeakDay   string
	Busy      []chartDay // days with requests, newest first, for the table
	Summary   string
	From, To  string
}

type chartBar struct {
	X, Y, W, H int
	Label      string
}

type chartTick struct {
	Y     int
	Label string
}

type chartLabel struct {
	X      int
	Label  string
	Anchor string
}

type chartDay struct {
	Date  string
	Count int64
}

// buildChart lays out the last chartDays UTC days ending today, filling
// days without requests with zero.
func buildChart(days []store.UsageDay, now time.Time) usageChart {
	counts := make(map[string]int64, len(days))
	for _, d := range days {
		counts[d.Day] += d.Count
	}
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(chartDays - 1))
	c := usageChart{W: chartW, H: chartH, PlotLeft: plotLeft, PlotRight: chartW - plotRight, Baseline: chartH - plotBottom,
		From: first.Format("Jan 2"), To: today.Format("Jan 2")}
	series := make([]int64, chartDays)
	for i := range series {
		day := first.AddDate(0, 0, i)
		series[i] = counts[day.Format(time.DateOnly)]
		c.Total += series[i]
		if series[i] > c.Peak {
			c.Peak, c.PeakDay = series[i], day.Format("Jan 2")
		}
	}
	top := niceCeiling(c.Peak)
	plotH := chartH - plotTop - plotBottom
	slot := (chartW - plotLeft - plotRight) / chartDays
	for i, n := range series {
		day := first.AddDate(0, 0, i)
		h := int(int64(plotH) * n / top)
		if n > 0 && h < 2 {
			h = 2
		}
		c.Bars = append(c.Bars, chartBar{
			X: plotLeft + i*slot + 2, Y: c.Baseline - h, W: slot - 4, H: h,
			Label: fmt.Sprintf("%s: %d %s", day.Format("Mon Jan 2"), n, pluralWord(n, "request", "requests")),
		})
		if n > 0 {
			c.Busy = append([]chartDay{{Date: day.Format("Mon Jan 2"), Count: n}}, c.Busy...)
		}
	}
	for _, frac := range []int64{0, 1, 2} {
		v := top * frac / 2
		c.Ticks = append(c.Ticks, chartTick{Y: c.Baseline - int(int64(plotH)*frac/2), Label: fmt.Sprint(v)})
	}
	c.XLabels = dateLabels(first, slot)
	c.Summary = fmt.Sprintf("%d %s from %s to %s.", c.Total, pluralWord(c.Total, "request", "requests"), c.From, c.To)
	if c.Total == 0 {
		c.Summary = fmt.Sprintf("No requests from %s to %s.", c.From, c.To)
	} else {
		c.Summary += fmt.Sprintf(" Busiest day: %s with %d.", c.PeakDay, c.Peak)
	}
	return c
}

// dateLabels labels the first, middle and last day under the bars.
func dateLabels(first time.Time, slot int) []chartLabel {
	end := plotLeft + chartDays*slot
	return []chartLabel{
		{X: plotLeft + 2, Label: first.Format("Jan 2"), Anchor: "start"},
		{X: plotLeft + (chartDays/2)*slot + slot/2, Label: first.AddDate(0, 0, chartDays/2).Format("Jan 2"), Anchor: "middle"},
		{X: end - 2, Label: first.AddDate(0, 0, chartDays-1).Format("Jan 2"), Anchor: "end"},
	}
}

// niceCeiling rounds n up to a round, even number for the top of the y axis
// (even, so the middle tick is a whole number).
func niceCeiling(n int64) int64 {
	if n <= 10 {
		return max(2, n+n%2)
	}
	step := int64(10)
	for step*10 < n {
		step *= 10
	}
	for _, m := range []int64{1, 2, 5} {
		if step*m >= n {
			return step * m
		}
	}
	return step * 10
}

func pluralWord(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
