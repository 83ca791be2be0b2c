package web

import (
	"context"
	"math"
	"time"

	"github.com/subgate/subgate"
)

// Chart geometry, in SVG user units; the SVG scales to its box.
const (
	chartWidth  = 720
	chartHeight = 160
	chartGap    = 2
)

// chart is a usage bar chart, laid out here so the template only draws.
type chart struct {
	Width, Height int
	Bars          []bar
	Total         int64
	Max           int64
	Empty         bool
}

type bar struct {
	X, Y, W, H float64
	LabelX     float64
	Label      string // under the bar, for some bars
	Title      string // on hover
}

// usageFunc answers a usage query for whoever looks.
type usageFunc func(ctx context.Context, q subgate.UsageQuery) ([]subgate.UsagePoint, error)

// usageOf reads the usage of the given sub-users as p (all of p's when ids
// is empty).
func (s *Server) usageOf(p subgate.Principal, ids []int64) usageFunc {
	return func(ctx context.Context, q subgate.UsageQuery) ([]subgate.UsagePoint, error) {
		q.SubUserIDs = ids
		return s.svc.Usage(ctx, p, q)
	}
}

// usageChart reads a series of steps (hours or days, all products summed)
// ending with the step that holds now.
func (s *Server) usageChart(ctx context.Context, usage usageFunc, g subgate.UsageGranularity, steps int) (chart, error) {
	starts := stepStarts(s.svc.Now(), s.svc.Windows, g, steps)
	end := nextStep(starts[len(starts)-1], g)
	pts, err := usage(ctx, subgate.UsageQuery{From: starts[0], To: end, Granularity: g})
	if err != nil {
		return chart{}, err
	}
	sums := make(map[int64]int64, len(starts))
	for _, pt := range pts {
		sums[pt.Time.Unix()] += pt.Bytes
	}
	return layoutChart(starts, sums, g), nil
}

// stepStarts lists the starts of the last n steps up to now: hours in UTC
// (usage buckets are UTC hours), days in the limit windows' zone.
func stepStarts(now time.Time, w subgate.Windows, g subgate.UsageGranularity, n int) []time.Time {
	out := make([]time.Time, n)
	if g == subgate.GranularityHour {
		last := subgate.HourOf(now)
		for i := range n {
			out[i] = last.Add(-time.Duration(n-1-i) * time.Hour)
		}
		return out
	}
	loc := w.Location
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	for i := range n {
		out[i] = time.Date(y, m, d-(n-1-i), 0, 0, 0, 0, loc)
	}
	return out
}

func nextStep(t time.Time, g subgate.UsageGranularity) time.Time {
	if g == subgate.GranularityHour {
		return t.Add(time.Hour)
	}
	return t.AddDate(0, 0, 1)
}

func layoutChart(starts []time.Time, sums map[int64]int64, g subgate.UsageGranularity) chart {
	c := chart{Width: chartWidth, Height: chartHeight}
	for _, t := range starts {
		b := sums[t.Unix()]
		c.Total += b
		c.Max = max(c.Max, b)
	}
	c.Empty = c.Max == 0
	slot := float64(chartWidth) / float64(len(starts))
	every := max(1, len(starts)/8) // at most about 8 labels
	for i, t := range starts {
		b := sums[t.Unix()]
		h := 0.0
		if c.Max > 0 {
			h = float64(b) / float64(c.Max) * (chartHeight - 20)
		}
		if b > 0 && h < 1 {
			h = 1 // a little usage stays visible
		}
		label, title := t.Format("Jan 2"), t.Format("Mon Jan 2")
		if g == subgate.GranularityHour {
			label, title = t.UTC().Format("15:04"), t.UTC().Format("Jan 2 15:04 UTC")
		}
		if i%every != 0 {
			label = ""
		}
		c.Bars = append(c.Bars, bar{
			X: round1(float64(i)*slot + chartGap/2), W: round1(slot - chartGap), Y: round1(chartHeight - 16 - h), H: round1(h),
			LabelX: round1((float64(i) + 0.5) * slot),
			Label:  label, Title: title + ": " + formatGB(b) + " (" + formatBytes(b) + ")",
		})
	}
	return c
}

// round1 keeps coordinates short in the page.
func round1(x float64) float64 { return math.Round(x*10) / 10 }
