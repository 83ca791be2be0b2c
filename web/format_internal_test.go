package web

import (
	"net/url"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// GB in forms are decimal: 1 GB is 10^9 bytes.
func TestGBFields(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "0": 0, "1": 1_000_000_000, "0.5": 500_000_000, " 2.25 ": 2_250_000_000,
		"0.000000001": 1, "1e3": 1_000_000_000_000,
	} {
		got, err := gbField(url.Values{"amount": {in}}, "amount")
		if err != nil || got != want {
			t.Errorf("gbField(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "ten", "NaN", "Inf", "1,5", "2e9"} {
		_, err := gbField(url.Values{"amount": {in}}, "amount")
		if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "amount" {
			t.Errorf("gbField(%q) = %v, want an invalid amount", in, err)
		}
	}
}

func TestFormatting(t *testing.T) {
	for b, want := range map[int64]string{
		0: "0 GB", 1_234_567_890: "1.23 GB", 10 * subgate.BytesPerGB: "10.00 GB", 5_000_000: "5.00 MB",
	} {
		if got := formatGB(b); got != want {
			t.Errorf("formatGB(%d) = %q, want %q", b, got, want)
		}
	}
	for b, want := range map[int64]string{0: "0 bytes", 999: "999 bytes", 1000: "1,000 bytes", 1_234_567_890: "1,234,567,890 bytes"} {
		if got := formatBytes(b); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", b, got, want)
		}
	}
	if got := gbInput(2_500_000_000); got != "2.5" {
		t.Errorf("gbInput = %q", got)
	}
	if got := shellQuote("a'b$c"); got != `'a'\''b$c'` {
		t.Errorf("shellQuote = %s", got)
	}
}

func TestExpiryField(t *testing.T) {
	got, err := expiryField(url.Values{"expires_at": {"2030-01-31T12:00"}})
	if err != nil || !got.Equal(time.Date(2030, 1, 31, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("expiry = %v, %v", got, err)
	}
	if got, err := expiryField(url.Values{}); got != nil || err != nil {
		t.Errorf("empty expiry = %v, %v", got, err)
	}
	if _, err := expiryField(url.Values{"expires_at": {"tomorrow"}}); subgate.ErrorField(err) != "expires_at" {
		t.Errorf("bad expiry: %v", err)
	}
}

// The chart sums products per step and scales to the busiest step.
func TestChartLayout(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)
	starts := stepStarts(now, subgate.Windows{}, subgate.GranularityDay, 7)
	if len(starts) != 7 || !starts[6].Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) || !starts[0].Equal(time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("day starts %v", starts)
	}
	hours := stepStarts(now, subgate.Windows{}, subgate.GranularityHour, 24)
	if !hours[23].Equal(time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)) || !hours[0].Equal(time.Date(2026, 11, 19, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("hour starts %v … %v", hours[0], hours[23])
	}
	c := layoutChart(starts, map[int64]int64{starts[6].Unix(): 2 * subgate.BytesPerGB, starts[3].Unix(): subgate.BytesPerGB}, subgate.GranularityDay)
	if c.Total != 3*subgate.BytesPerGB || c.Max != 2*subgate.BytesPerGB || len(c.Bars) != 7 {
		t.Fatalf("chart %+v", c)
	}
	if c.Bars[6].H != 2*c.Bars[3].H || c.Bars[0].H != 0 || c.Bars[6].Y+c.Bars[6].H != chartHeight-16 {
		t.Errorf("bars %+v", c.Bars)
	}
}

// A sub-user's first requests are bytes or kilobytes: they are shown as such,
// never as "0.00 MB" beside a full-height bar of the usage chart.
func TestFormatGBSmallAmounts(t *testing.T) {
	for b, want := range map[int64]string{
		301: "301 bytes", 1467: "1.47 kB", 999_000: "999.00 kB", 1_000_000: "1.00 MB", -1467: "-1.47 kB",
	} {
		if got := formatGB(b); got != want {
			t.Errorf("formatGB(%d) = %q, want %q", b, got, want)
		}
	}
}
