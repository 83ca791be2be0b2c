package web

import (
	"net/netip"
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

// limitsFields reads the limits form.
func limitsFields(f url.Values) (subgate.Limits, error) {
	var l subgate.Limits
	var err error
	for _, g := range []struct {
		name string
		dst  *int64
	}{
		{"limits.daily", &l.Daily}, {"limits.monthly", &l.Monthly},
		{"limits.lifetime", &l.Lifetime}, {"limits.usage_cap", &l.UsageCap},
	} {
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

// allowIPsField reads the IP allow-list, one CIDR or address per line;
// blank lines are skipped, so allow_ips[i] is the i-th entry written, the
// index the domain's errors name too.
func allowIPsField(f url.Values) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, line := range strings.Split(f.Get("allow_ips"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := netip.ParsePrefix(line)
		if err != nil {
			a, aerr := netip.ParseAddr(line)
			if aerr != nil {
				return nil, subgate.Invalidf("allow_ips["+strconv.Itoa(len(out))+"]", "must be an IP address or CIDR")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// allowIPsInput fills the allow-list textarea, one prefix a line.
func allowIPsInput(ps []netip.Prefix) string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
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
