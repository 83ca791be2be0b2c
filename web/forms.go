package web

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// Form fields are named after the domain's fields ("limits.daily",
// "traffic.res"), so an error's field highlights the input it is about.
// Traffic amounts are typed in decimal GB and converted to bytes here, once.

// gbField reads an amount in GB; empty is 0.
func gbField(f url.Values, name string) (int64, error) {
	s := strings.TrimSpace(f.Get(name))
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, subgate.Invalidf(name, "must be a number of GB, such as 10 or 0.5")
	}
	return subgate.GBToBytes(name, v)
}

// countField reads a whole number; empty is 0.
func countField(f url.Values, name string) (int64, error) {
	s := strings.TrimSpace(f.Get(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, subgate.Invalidf(name, "must be a whole number")
	}
	return n, nil
}

// limitsFields reads the limits form; usage_cap, which only the 9Proxy
// dialect sets, is kept from cur.
func limitsFields(f url.Values, cur subgate.Limits) (subgate.Limits, error) {
	l := cur
	var err error
	for _, g := range []struct {
		name string
		dst  *int64
	}{{"limits.daily", &l.Daily}, {"limits.monthly", &l.Monthly}, {"limits.lifetime", &l.Lifetime}} {
		if *g.dst, err = gbField(f, g.name); err != nil {
			return l, err
		}
	}
	if l.IPUsageCap, err = countField(f, "limits.ip_usage_cap"); err != nil {
		return l, err
	}
	if l.MaxConcurrency, err = countField(f, "limits.max_concurrency"); err != nil {
		return l, err
	}
	return l, nil
}

// expiryLayout is what a datetime-local input sends; the dashboard shows
// and takes times in UTC.
const expiryLayout = "2006-01-02T15:04"

// expiryField reads an expiry in UTC; empty means none.
func expiryField(f url.Values) (*time.Time, error) {
	s := strings.TrimSpace(f.Get("expires_at"))
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(expiryLayout, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return nil, subgate.Invalidf("expires_at", "must be a date and time such as 2026-12-31T23:59 (UTC)")
		}
	}
	return &t, nil
}

func expiryInput(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(expiryLayout)
}

// formKey is an idempotency key for a form: submitting the same form twice
// (a double click, a reload) moves traffic once.
func formKey(f url.Values) string {
	k := strings.TrimSpace(f.Get("key"))
	if len(k) > 100 {
		k = k[:100]
	}
	return k
}

func newFormKey() string { return subgate.NewSecret("dash_") }
