package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// usageView is a usage series as the API answers it.
type usageView struct {
	Total  int64 `json:"total"`
	Points []struct {
		Time      time.Time `json:"time"`
		SubUserID int64     `json:"subuser_id"`
		Product   string    `json:"product"`
		Bytes     int64     `json:"bytes"`
	} `json:"points"`
}

// usageFlags are the flags choosing a usage series' span and step.
type usageFlags struct {
	from, to, granularity *string
}

func addUsageFlags(fs *flag.FlagSet) *usageFlags {
	return &usageFlags{
		from:        fs.String("from", "", "start: YYYY-MM-DD or RFC 3339 time (default 30 days, or 7 days hourly, before --to)"),
		to:          fs.String("to", "", "end: YYYY-MM-DD (that day included) or RFC 3339 time (default now)"),
		granularity: fs.String("granularity", "day", "hour or day"),
	}
}

// query is the series' query string; the API checks the values.
func (f *usageFlags) query() url.Values {
	q := url.Values{"granularity": {*f.granularity}}
	if *f.from != "" {
		q.Set("from", *f.from)
	}
	if *f.to != "" {
		q.Set("to", *f.to)
	}
	return q
}

// printUsage lists a series; bySubUser adds the sub-user of each point.
func printUsage(bySubUser bool) func(io.Writer, usageView) error {
	return func(w io.Writer, out usageView) error {
		t := newTable(w)
		if bySubUser {
			fmt.Fprintln(t, "TIME\tSUBUSER\tPRODUCT\tUSED")
		} else {
			fmt.Fprintln(t, "TIME\tPRODUCT\tUSED")
		}
		for _, p := range out.Points {
			if bySubUser {
				fmt.Fprintf(t, "%s\t%d\t%s\t%s\n", p.Time.Format(time.RFC3339), p.SubUserID, p.Product, formatBytes(p.Bytes))
			} else {
				fmt.Fprintf(t, "%s\t%s\t%s\n", p.Time.Format(time.RFC3339), p.Product, formatBytes(p.Bytes))
			}
		}
		if bySubUser {
			fmt.Fprintf(t, "total\t\t\t%s\n", formatBytes(out.Total))
		} else {
			fmt.Fprintf(t, "total\t\t%s\n", formatBytes(out.Total))
		}
		return t.Flush()
	}
}

const usageUsage = `Usage: subgate usage [flags]

Prints the traffic used by all the caller's sub-users per hour or day: a
reseller token sees its own, the admin token every reseller's. One
sub-user's series is "subgate subuser usage <ref>".`

func (a *app) usage(ctx context.Context, args []string) error {
	cmd := a.newCommand("usage", usageUsage)
	span := addUsageFlags(cmd.fs)
	bySubUser := cmd.fs.Bool("by-subuser", false, "one series per sub-user instead of the sum")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	q := span.query()
	q.Set("by_subuser", strconv.FormatBool(*bySubUser))
	return request(ctx, c, "GET", "/v1/usage", q, nil, printUsage(*bySubUser))
}
