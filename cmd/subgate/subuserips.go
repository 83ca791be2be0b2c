package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

func (a *app) subuserIPs(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser ips", "Usage: subgate subuser ips <id|hash|username> [flags]\n\nLists the static IPs dedicated to the sub-user.")
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	c, path, err := cmd.subuserClient(ctx, pos[0])
	if err != nil {
		return err
	}
	return request(ctx, c, "GET", path+"/static-ips", nil, nil, func(w io.Writer, list staticIPListView) error {
		if len(list.Items) == 0 {
			_, err := fmt.Fprintf(w, "sub-user %s holds no static IPs (subgate subuser allocate-ips dedicates some)\n", pos[0])
			return err
		}
		return printStaticIPs(w, list)
	})
}

const allocateIPsUsage = `Usage: subgate subuser allocate-ips <id|hash|username> --count N --country CC [flags]

Dedicates N free static IPs of the country (and access point, when given) to
the sub-user and gives it --bandwidth of static (stc) traffic from the pool:
both or neither. Too few free IPs, or too little stc in the pool, changes
nothing.`

func (a *app) subuserAllocateIPs(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser allocate-ips", allocateIPsUsage)
	count := cmd.fs.Int("count", 0, "how many IPs (required)")
	country := cmd.fs.String("country", "", "ISO 3166-1 alpha-2 country, e.g. us (required)")
	accessPoint := cmd.fs.String("access-point", "", "access point; any of the country when left out")
	var bandwidth bytesFlag
	cmd.fs.Var(&bandwidth, "bandwidth", "static traffic `SIZE` given from the stc pool, e.g. 5GB")
	key := cmd.fs.String("idempotency-key", "", "makes a retried command allocate once")
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	body := map[string]any{"count": *count, "country": *country, "bandwidth_bytes": bandwidth.n}
	if *accessPoint != "" {
		body["access_point"] = *accessPoint
	}
	c, path, err := cmd.subuserClient(ctx, pos[0])
	if err != nil {
		return err
	}
	type allocated struct {
		IPs     []staticIPView `json:"ips"`
		SubUser subUserView    `json:"subuser"`
	}
	return request(ctx, c.withKey(*key), "POST", path+"/static-ips", nil, body, func(w io.Writer, out allocated) error {
		if err := printStaticIPs(w, staticIPListView{Items: out.IPs}); err != nil {
			return err
		}
		stc := out.SubUser.Traffic["stc"]
		_, err := fmt.Fprintf(w, "sub-user %s: %s static traffic available\n", out.SubUser.Username, formatBytes(stc.Available))
		return err
	})
}

const releaseIPsUsage = `Usage: subgate subuser release-ips <id|hash|username> <ip-id>… [flags]
       subgate subuser release-ips <id|hash|username> --all [flags]

Gives the sub-user's dedicated static IPs back to the inventory: those
named by id (see "subgate subuser ips"), or every one with --all. An id the
sub-user does not hold is an error, and then nothing is released.`

func (a *app) subuserReleaseIPs(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser release-ips", releaseIPsUsage)
	all := cmd.fs.Bool("all", false, "release every IP the sub-user holds")
	key := cmd.fs.String("idempotency-key", "", "makes a retried command release once")
	pos, err := parseInterspersed(cmd.fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || *all == (len(pos) > 1) {
		return badArgs(cmd.fs, "a sub-user and static IP ids, or a sub-user and --all")
	}
	var body any
	var ids []int64
	if !*all {
		ids = make([]int64, 0, len(pos)-1)
		for _, s := range pos[1:] {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("static IP id %q is not a positive whole number", s)
			}
			ids = append(ids, id)
		}
		body = map[string]any{"ids": ids}
	}
	c, path, err := cmd.subuserClient(ctx, pos[0])
	if err != nil {
		return err
	}
	// A retry with an idempotency key replays the first answer: the IPs it
	// released are no longer held, so only a first attempt is checked.
	if !*all && *key == "" {
		if err := checkHeld(ctx, c, path, pos[0], ids); err != nil {
			return err
		}
	}
	type released struct {
		Released int `json:"released"`
	}
	return request(ctx, c.withKey(*key), "DELETE", path+"/static-ips", nil, body, func(w io.Writer, out released) error {
		_, err := fmt.Fprintf(w, "released %d static IPs of sub-user %s\n", out.Released, pos[0])
		return err
	})
}

// checkHeld refuses ids the sub-user does not hold, before anything is
// released: the API ignores them, which would let a typo pass as done.
func checkHeld(ctx context.Context, c *client, path, ref string, ids []int64) error {
	var held staticIPListView
	if _, err := c.do(ctx, "GET", path+"/static-ips", nil, nil, &held); err != nil {
		return err
	}
	var missing []string
	for _, id := range ids {
		if !slices.ContainsFunc(held.Items, func(ip staticIPView) bool { return ip.ID == id }) {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sub-user %s holds no static IP %s (see subgate subuser ips %s); nothing released", ref, strings.Join(missing, ", "), ref)
	}
	return nil
}
