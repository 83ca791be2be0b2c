package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Views of API answers, holding what tables show.

type trafficView struct {
	Available int64 `json:"available"`
	Used      int64 `json:"used"`
}

type subUserView struct {
	ID        int64                  `json:"id"`
	Hash      string                 `json:"hash"`
	Username  string                 `json:"username"`
	Password  string                 `json:"password"`
	Name      string                 `json:"name"`
	Note      string                 `json:"note"`
	Status    string                 `json:"status"`
	Traffic   map[string]trafficView `json:"traffic"`
	Available int64                  `json:"available"`
	Used      int64                  `json:"used"`
	Limits    map[string]int64       `json:"limits"`
	Usage     map[string]int64       `json:"usage"`
	Limited   bool                   `json:"limited"`
	Expired   bool                   `json:"expired"`
	ExpiresAt *time.Time             `json:"expires_at"`
	AllowIPs  []string               `json:"allow_ips"`
	CreatedAt time.Time              `json:"created_at"`
}

type subUserPageView struct {
	Items          []subUserView `json:"items"`
	Total          *int64        `json:"total"`
	TotalEstimated bool          `json:"total_estimated"`
	Page           int           `json:"page"`
	PerPage        int           `json:"per_page"`
	NextCursor     string        `json:"next_cursor"`
}

type resellerView struct {
	ID           int64            `json:"id"`
	Name         string           `json:"name"`
	Email        string           `json:"email"`
	Pools        map[string]int64 `json:"pools"`
	SubUserCount *int64           `json:"subuser_count"`
	CreatedAt    time.Time        `json:"created_at"`
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func printSubUsers(w io.Writer, page subUserPageView) error {
	t := newTable(w)
	fmt.Fprintln(t, "ID\tUSERNAME\tSTATUS\tAVAILABLE\tUSED\tLIMITED\tNAME\tCREATED")
	for _, u := range page.Items {
		fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%t\t%s\t%s\n", u.ID, u.Username, u.Status,
			formatBytes(u.Available), formatBytes(u.Used), u.Limited, u.Name, u.CreatedAt.Format(time.DateOnly))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if page.Total != nil {
		if page.Page > 0 {
			fmt.Fprintf(w, "page %d, ", page.Page)
		}
		about := ""
		if page.TotalEstimated {
			about = "about "
		}
		fmt.Fprintf(w, "%d of %s%d sub-users\n", len(page.Items), about, *page.Total)
	}
	if page.NextCursor != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", page.NextCursor)
	}
	return nil
}

func printSubUser(w io.Writer, u subUserView) error {
	t := newTable(w)
	row := func(k, v string) { fmt.Fprintf(t, "%s\t%s\n", k, v) }
	row("id", strconv.FormatInt(u.ID, 10))
	row("hash", u.Hash)
	row("username", u.Username)
	row("password", u.Password)
	row("status", u.Status)
	if u.Name != "" {
		row("name", u.Name)
	}
	if u.Note != "" {
		row("note", u.Note)
	}
	for _, p := range sortedKeys(u.Traffic) {
		tr := u.Traffic[p]
		if tr.Available != 0 || tr.Used != 0 {
			row("traffic "+p, fmt.Sprintf("%s available, %s used", formatBytes(tr.Available), formatBytes(tr.Used)))
		}
	}
	row("available", formatBytes(u.Available))
	row("used", formatBytes(u.Used))
	for _, k := range sortedKeys(u.Limits) {
		if v := u.Limits[k]; v != 0 {
			if k == "ip_usage_cap" || k == "max_concurrency" {
				row("limit "+k, strconv.FormatInt(v, 10))
			} else {
				row("limit "+k, formatBytes(v))
			}
		}
	}
	row("used today", formatBytes(u.Usage["day"]))
	row("used this month", formatBytes(u.Usage["month"]))
	row("limited", strconv.FormatBool(u.Limited))
	if u.ExpiresAt != nil {
		row("expires", u.ExpiresAt.Format(time.RFC3339)+map[bool]string{true: " (expired)", false: ""}[u.Expired])
	}
	if len(u.AllowIPs) > 0 {
		row("allow ips", strings.Join(u.AllowIPs, ", "))
	}
	row("created", u.CreatedAt.Format(time.RFC3339))
	return t.Flush()
}

func printResellers(w io.Writer, rs []resellerView) error {
	t := newTable(w)
	fmt.Fprintln(t, "ID\tNAME\tEMAIL\tPOOLS\tCREATED")
	for _, r := range rs {
		fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Email, formatPools(r.Pools), r.CreatedAt.Format(time.DateOnly))
	}
	return t.Flush()
}

func printReseller(w io.Writer, r resellerView) error {
	t := newTable(w)
	fmt.Fprintf(t, "id\t%d\nname\t%s\n", r.ID, r.Name)
	if r.Email != "" {
		fmt.Fprintf(t, "email\t%s\n", r.Email)
	}
	for _, p := range sortedKeys(r.Pools) {
		fmt.Fprintf(t, "pool %s\t%s\n", p, formatBytes(r.Pools[p]))
	}
	if r.SubUserCount != nil {
		fmt.Fprintf(t, "sub-users\t%d\n", *r.SubUserCount)
	}
	return t.Flush()
}

// formatPools lists the non-empty pools, e.g. "res=10.00 GB".
func formatPools(pools map[string]int64) string {
	var parts []string
	for _, p := range sortedKeys(pools) {
		if pools[p] != 0 {
			parts = append(parts, p+"="+formatBytes(pools[p]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
