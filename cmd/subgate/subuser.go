package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

const subuserUsage = `Usage: subgate subuser <command> [arguments] [flags]

Commands:
  create <username>         create a sub-user (optionally with traffic and limits)
  list                      list sub-users
  show <ref>                show one sub-user (ref: id, hash or username)
  update <ref>              change name, note, limits, expiry…
  bulk <ref>…               set status, name, note, limits or expiry on many at once
  delete <ref>              delete; unused traffic returns to the pool
  give <ref> <amount>       move traffic from the pool to the sub-user (allocated only)
  take <ref> <amount>       move unused traffic back to the pool (allocated only)
  funding <ref> <mode>      switch between allocated and shared funding
  disable <ref>             disable (live proxy connections are cut)
  enable <ref>              enable
  passwd <ref> [password]   set the proxy password (generated when left out)
  usage <ref>               usage per hour or day (--from, --to, --granularity)
  ips <ref>                 list the static IPs dedicated to the sub-user
  allocate-ips <ref>        dedicate free static IPs (--count, --country, --bandwidth)
  release-ips <ref> <id>…   give dedicated static IPs back (--all for every one)
  proxy-url <ref>           print a ready proxy URL (--country, --session, --socks…)

` + apiCommandsFooter

func (a *app) subuser(ctx context.Context, args []string) error {
	return a.dispatch(ctx, args, "subuser command", subuserUsage, subcommands{
		"create": a.subuserCreate, "list": a.subuserList, "show": a.subuserShow,
		"update": a.subuserUpdate, "delete": a.subuserDelete, "give": a.subuserGive,
		"take": a.subuserTake, "disable": a.subuserDisable, "enable": a.subuserEnable,
		"passwd": a.subuserPasswd, "usage": a.subuserUsage, "funding": a.subuserFunding,
		"ips": a.subuserIPs, "allocate-ips": a.subuserAllocateIPs, "release-ips": a.subuserReleaseIPs,
		"proxy-url": a.subuserProxyURL, "bulk": a.subuserBulk,
	})
}

// limitFlags are the limit flags shared by create and update.
type limitFlags struct {
	daily, monthly, lifetime, usageCap bytesFlag
	ipCap, concurrency                 int64
}

func addLimitFlags(fs *flag.FlagSet) *limitFlags {
	l := &limitFlags{}
	fs.Var(&l.daily, "daily", "daily traffic limit `SIZE`, e.g. 1GB (0 = none)")
	fs.Var(&l.monthly, "monthly", "monthly traffic limit `SIZE` (0 = none)")
	fs.Var(&l.lifetime, "lifetime", "lifetime traffic limit `SIZE` (0 = none)")
	fs.Var(&l.usageCap, "usage-cap", "usage cap `SIZE` over the lifetime (0 = none)")
	fs.Int64Var(&l.ipCap, "ip-cap", 0, "distinct egress IPs or sessions per day (0 = none)")
	fs.Int64Var(&l.concurrency, "concurrency", 0, "open proxy connections at once (0 = none)")
	return l
}

// set returns the limits given on the command line, by API field name.
func (l *limitFlags) set(fs *flag.FlagSet) map[string]int64 {
	out := map[string]int64{}
	for flagName, v := range map[string]struct {
		field string
		n     int64
	}{
		"daily": {"daily", l.daily.n}, "monthly": {"monthly", l.monthly.n},
		"lifetime": {"lifetime", l.lifetime.n}, "usage-cap": {"usage_cap", l.usageCap.n},
		"ip-cap": {"ip_usage_cap", l.ipCap}, "concurrency": {"max_concurrency", l.concurrency},
	} {
		if isSet(fs, flagName) {
			out[v.field] = v.n
		}
	}
	return out
}

// parseTraffic reads "res=10GB,dc=500MB" into bytes per product.
func parseTraffic(specs []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, spec := range specs {
		for _, part := range strings.Split(spec, ",") {
			product, amount, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				return nil, fmt.Errorf("--traffic %q: want product=amount, e.g. res=10GB", part)
			}
			n, err := parseBytes(amount)
			if err != nil {
				return nil, fmt.Errorf("--traffic %s: %w", product, err)
			}
			out[strings.TrimSpace(product)] = n
		}
	}
	return out, nil
}

func (a *app) subuserCreate(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser create", "Usage: subgate subuser create <username> [flags]\n\nCreates a sub-user; --traffic gives it traffic from the pool at once.\n"+
		"With --funding shared it has no traffic of its own and draws on the pool, bounded by its limits.")
	password := cmd.fs.String("password", "", "proxy password (generated when empty)")
	funding := cmd.fs.String("funding", "", "allocated (default: traffic is given to it) or shared (it draws on the pool)")
	name := cmd.fs.String("name", "", "display name")
	note := cmd.fs.String("note", "", "free-text note")
	expires := cmd.fs.String("expires", "", "expiry as RFC 3339 time, e.g. 2026-12-31T23:59:59Z")
	resellerID := cmd.fs.Int64("reseller-id", 0, "owning reseller (required with the admin token)")
	key := cmd.fs.String("idempotency-key", "", "makes a retried command create the sub-user once")
	var traffic, allowIPs stringList
	cmd.fs.Var(&traffic, "traffic", "initial traffic as `PRODUCT=SIZE`, e.g. res=10GB (repeatable)")
	cmd.fs.Var(&allowIPs, "allow-ip", "client `IP or CIDR` allowed to use the proxy (repeatable)")
	limits := addLimitFlags(cmd.fs)
	pos, err := cmd.parse(args, 1, "a username")
	if err != nil {
		return err
	}
	tr, err := parseTraffic(traffic)
	if err != nil {
		return err
	}
	body := map[string]any{"username": pos[0], "limits": limits.set(cmd.fs), "traffic": tr}
	for k, v := range map[string]string{"password": *password, "name": *name, "note": *note, "expires_at": *expires, "funding": *funding} {
		if v != "" {
			body[k] = v
		}
	}
	if *resellerID != 0 {
		body["reseller_id"] = *resellerID
	}
	if len(allowIPs) > 0 {
		body["allow_ips"] = []string(allowIPs)
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	return request(ctx, c.withKey(*key), "POST", "/v1/subusers", nil, body, printSubUser)
}

// subuserRefCall sends a request on a sub-user named by id, hash or
// username, answered with that sub-user, and prints it.
func (cmd *command) subuserRefCall(ctx context.Context, method, ref, suffix string, body any) error {
	c, path, err := cmd.subuserClient(ctx, ref)
	if err != nil {
		return err
	}
	return request(ctx, c, method, path+suffix, nil, body, printSubUser)
}

func (a *app) subuserList(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser list", "Usage: subgate subuser list [flags]")
	search := cmd.fs.String("search", "", "substring of username, name or note")
	status := cmd.fs.String("status", "", "only this status: active, disabled or blocked")
	sortBy := cmd.fs.String("sort", "", "id, username, created_at, used, available, status, usage_cap, ip_usage_cap or ip_used")
	order := cmd.fs.String("order", "", "asc or desc")
	page := cmd.fs.Int("page", 0, "page number, from 1")
	perPage := cmd.fs.Int("per-page", 0, "sub-users per page (default 50, at most 1000)")
	cursor := cmd.fs.String("cursor", "", "continue after a previous page (its next cursor)")
	count := cmd.fs.String("count", "estimate", "total of matches: none, exact or estimate (exact where counting is cheap)")
	if _, err := cmd.parse(args, 0, "no arguments"); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"search": *search, "status": *status, "sort": *sortBy, "order": *order, "cursor": *cursor, "count": *count} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *page > 0 {
		q.Set("page", strconv.Itoa(*page))
	}
	if *perPage > 0 {
		q.Set("per_page", strconv.Itoa(*perPage))
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	return request(ctx, c, "GET", "/v1/subusers", q, nil, printSubUsers)
}

// refCommand runs a command that takes exactly one sub-user reference.
func (a *app) refCommand(ctx context.Context, args []string, name, usage, method, suffix string) error {
	cmd := a.newCommand("subuser "+name, usage)
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	return cmd.subuserRefCall(ctx, method, pos[0], suffix, nil)
}

func subuserPath(ref string) string { return "/v1/subusers/" + url.PathEscape(ref) }

func (a *app) subuserShow(ctx context.Context, args []string) error {
	return a.refCommand(ctx, args, "show", "Usage: subgate subuser show <id|hash|username> [flags]", "GET", "")
}

func (a *app) subuserDisable(ctx context.Context, args []string) error {
	return a.refCommand(ctx, args, "disable", "Usage: subgate subuser disable <id|hash|username> [flags]\n\nDisables the sub-user; its live proxy connections are cut.", "POST", "/disable")
}

func (a *app) subuserEnable(ctx context.Context, args []string) error {
	return a.refCommand(ctx, args, "enable", "Usage: subgate subuser enable <id|hash|username> [flags]", "POST", "/enable")
}

func (a *app) subuserUpdate(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser update", "Usage: subgate subuser update <id|hash|username> [flags]\n\nChanges only the fields whose flags are given.")
	username := cmd.fs.String("username", "", "new proxy username")
	name := cmd.fs.String("name", "", "display name")
	note := cmd.fs.String("note", "", "free-text note")
	status := cmd.fs.String("status", "", "active or disabled")
	expires := cmd.fs.String("expires", "", `expiry as RFC 3339 time, or "never" to remove it`)
	var allowIPs stringList
	cmd.fs.Var(&allowIPs, "allow-ip", "client `IP or CIDR` allowed (repeatable; \"any\" clears the list)")
	limits := addLimitFlags(cmd.fs)
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	body := map[string]any{}
	for flagName, v := range map[string]string{"username": *username, "name": *name, "note": *note, "status": *status} {
		if isSet(cmd.fs, flagName) {
			body[flagName] = v
		}
	}
	setExpires(body, cmd.fs, *expires)
	if len(allowIPs) == 1 && allowIPs[0] == "any" {
		body["allow_ips"] = []string{}
	} else if len(allowIPs) > 0 {
		body["allow_ips"] = []string(allowIPs)
	}
	if l := limits.set(cmd.fs); len(l) > 0 {
		body["limits"] = l
	}
	return cmd.subuserRefCall(ctx, "PATCH", pos[0], "", body)
}

func (a *app) subuserFunding(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser funding", "Usage: subgate subuser funding <id|hash|username> <allocated|shared> [flags]\n\n"+
		"Switches the funding mode. To shared: the sub-user's available traffic returns to the pool and it\n"+
		"draws on the pool from then on. To allocated: it starts with no traffic; give it some.")
	pos, err := cmd.parse(args, 2, "a sub-user id, hash or username and a mode")
	if err != nil {
		return err
	}
	return cmd.subuserRefCall(ctx, "PATCH", pos[0], "", map[string]any{"funding": pos[1]})
}

func (a *app) subuserDelete(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser delete", "Usage: subgate subuser delete <id|hash|username> [flags]\n\nDeletes the sub-user; its unused traffic returns to the pool.")
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	c, path, err := cmd.subuserClient(ctx, pos[0])
	if err != nil {
		return err
	}
	type deleted struct {
		ID       int64            `json:"id"`
		Username string           `json:"username"`
		Pools    map[string]int64 `json:"pools"`
	}
	return request(ctx, c, "DELETE", path, nil, nil, func(w io.Writer, out deleted) error {
		_, err := fmt.Fprintf(w, "deleted sub-user %d (%s); pools now %s\n", out.ID, out.Username, formatPools(out.Pools))
		return err
	})
}

func (a *app) subuserGive(ctx context.Context, args []string) error {
	return a.subuserTransfer(ctx, args, "give", "Moves traffic from the reseller's pool to the sub-user.")
}

func (a *app) subuserTake(ctx context.Context, args []string) error {
	return a.subuserTransfer(ctx, args, "take", "Moves unused traffic from the sub-user back to the pool.")
}

func (a *app) subuserTransfer(ctx context.Context, args []string, name, what string) error {
	cmd := a.newTransferCommand("subuser "+name, "Usage: subgate subuser "+name+" <id|hash|username> <amount> [flags]\n\n"+what+" Amount: bytes or e.g. 10GB, 500MB.")
	ref, body, err := cmd.parse(args, "a sub-user id, hash or username and an amount")
	if err != nil {
		return err
	}
	c, path, err := cmd.subuserClient(ctx, ref)
	if err != nil {
		return err
	}
	return request(ctx, c.withKey(*cmd.key), "POST", path+"/"+name, nil, body, printSubUser)
}

func (a *app) subuserPasswd(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser passwd", "Usage: subgate subuser passwd <id|hash|username> [password] [flags]\n\nSets the proxy password; a new one is generated when none is given.")
	pos, err := parseInterspersed(cmd.fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 && len(pos) != 2 {
		return wantArgs(cmd.fs, pos, 1, "a sub-user id or hash and optionally a password")
	}
	body := map[string]any{}
	if len(pos) == 2 {
		body["password"] = pos[1]
	}
	return cmd.subuserRefCall(ctx, "POST", pos[0], "/password", body)
}

func (a *app) subuserUsage(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser usage", "Usage: subgate subuser usage <id|hash|username> [flags]\n\nPrints the traffic used per hour or day.")
	span := addUsageFlags(cmd.fs)
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	c, path, err := cmd.subuserClient(ctx, pos[0])
	if err != nil {
		return err
	}
	return request(ctx, c, "GET", path+"/usage", span.query(), nil, printUsage(false))
}

// setExpires puts a given --expires into a request body: "never" removes
// the expiry (null), anything else is sent as typed, for the API to judge.
func setExpires(body map[string]any, fs *flag.FlagSet, expires string) {
	if !isSet(fs, "expires") {
		return
	}
	if expires == "never" {
		body["expires_at"] = nil
	} else {
		body["expires_at"] = expires
	}
}
