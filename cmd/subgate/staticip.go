package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

const staticIPUsage = `Usage: subgate staticip <command> [arguments] [flags]

Commands (admin token):
  add <ip|proxy>…           add local IPs or static proxies to the inventory
  list                      list the inventory (--country, --free, --allocated…)
  delete <id>               remove a free IP from the inventory

Resellers dedicate IPs to their sub-users with "subgate subuser allocate-ips",
list them with "subgate subuser ips" and give them back with
"subgate subuser release-ips".

` + apiCommandsFooter

func (a *app) staticIP(ctx context.Context, args []string) error {
	return a.dispatch(ctx, args, "staticip command", staticIPUsage, subcommands{
		"add": a.staticIPAdd, "list": a.staticIPList, "delete": a.staticIPDelete,
	})
}

type staticIPView struct {
	ID          int64      `json:"id"`
	Address     string     `json:"address"`
	Upstream    string     `json:"upstream"`
	Country     string     `json:"country"`
	AccessPoint string     `json:"access_point"`
	SubUserID   int64      `json:"subuser_id"`
	AllocatedAt *time.Time `json:"allocated_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

type staticIPListView struct {
	Items     []staticIPView `json:"items"`
	NextAfter int64          `json:"next_after"`
}

func printStaticIPs(w io.Writer, list staticIPListView) error {
	t := newTable(w)
	fmt.Fprintln(t, "ID\tEGRESS\tCOUNTRY\tACCESS POINT\tSUBUSER\tALLOCATED")
	for _, ip := range list.Items {
		egress, ap, sub, at := ip.Address, ip.AccessPoint, "-", "-"
		if egress == "" {
			egress = ip.Upstream
		}
		if ap == "" {
			ap = "-"
		}
		if ip.SubUserID != 0 {
			sub = strconv.FormatInt(ip.SubUserID, 10)
		}
		if ip.AllocatedAt != nil {
			at = ip.AllocatedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%s\n", ip.ID, egress, ip.Country, ap, sub, at)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if list.NextAfter != 0 {
		fmt.Fprintf(w, "more: --after %d\n", list.NextAfter)
	}
	return nil
}

const staticIPAddUsage = `Usage: subgate staticip add <ip|proxy>… --country CC [flags]

Adds static IPs of one country (and access point) to the inventory. Each
argument is a local IP address the gateway connects from, or a static proxy
written [http://|socks5://]host:port:user:pass (or host:port). All or none
are added; proxy passwords are never shown again.`

func (a *app) staticIPAdd(ctx context.Context, args []string) error {
	cmd := a.newCommand("staticip add", staticIPAddUsage)
	country := cmd.fs.String("country", "", "ISO 3166-1 alpha-2 country of the IPs, e.g. us (required)")
	accessPoint := cmd.fs.String("access-point", "", "access point (city or site) of the IPs, e.g. nyc")
	key := cmd.fs.String("idempotency-key", "", "makes a retried command add the IPs once")
	pos, err := parseInterspersed(cmd.fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return badArgs(cmd.fs, "at least one IP address or static proxy")
	}
	ips := make([]map[string]string, len(pos))
	for i, egress := range pos {
		ip := map[string]string{"country": *country, "access_point": *accessPoint}
		if _, err := netip.ParseAddr(egress); err == nil {
			ip["address"] = egress
		} else {
			ip["upstream"] = egress
		}
		ips[i] = ip
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	return request(ctx, c.withKey(*key), "POST", "/v1/static-ips", nil, map[string]any{"ips": ips}, printStaticIPs)
}

func (a *app) staticIPList(ctx context.Context, args []string) error {
	cmd := a.newCommand("staticip list", "Usage: subgate staticip list [flags]\n\nLists the inventory, lowest ids first.")
	country := cmd.fs.String("country", "", "only IPs of this country")
	accessPoint := cmd.fs.String("access-point", "", "only IPs of this access point")
	free := cmd.fs.Bool("free", false, "only IPs no sub-user holds")
	allocated := cmd.fs.Bool("allocated", false, "only IPs allocated to a sub-user")
	subuser := cmd.fs.String("subuser", "", "only the IPs of this sub-user `REF`: id, hash or username")
	after := cmd.fs.Int64("after", 0, "only IPs with a larger id (the previous page's last)")
	limit := cmd.fs.Int("limit", 0, "IPs per page (default 100, at most 1000)")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	if *free && *allocated {
		return fmt.Errorf("--free and --allocated exclude each other")
	}
	q := url.Values{}
	for k, v := range map[string]string{"country": *country, "access_point": *accessPoint} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *free || *allocated {
		q.Set("allocated", strconv.FormatBool(*allocated))
	}
	if *subuser != "" {
		id, err := c.subuserID(ctx, *subuser)
		if err != nil {
			return err
		}
		q.Set("subuser_id", strconv.FormatInt(id, 10))
	}
	if isSet(cmd.fs, "after") {
		q.Set("after", strconv.FormatInt(*after, 10))
	}
	if isSet(cmd.fs, "limit") {
		q.Set("limit", strconv.Itoa(*limit))
	}
	return request(ctx, c, "GET", "/v1/static-ips", q, nil, printStaticIPs)
}

// subuserID finds the numeric id of a sub-user named by id, hash or
// username, for filters that take only the id.
func (c *client) subuserID(ctx context.Context, ref string) (int64, error) {
	ref, err := c.resolveRef(ctx, ref)
	if err != nil {
		return 0, err
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return id, nil
	}
	var u subUserView
	if _, err := c.do(ctx, "GET", subuserPath(ref), nil, nil, &u); err != nil {
		return 0, err
	}
	return u.ID, nil
}

func (a *app) staticIPDelete(ctx context.Context, args []string) error {
	cmd := a.newCommand("staticip delete", "Usage: subgate staticip delete <id> [flags]\n\nRemoves a free IP from the inventory; an allocated one must be released first.")
	pos, c, err := cmd.parseClient(args, 1, "a static IP id")
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, "DELETE", "/v1/static-ips/"+url.PathEscape(pos[0]), nil, nil, nil); err != nil {
		return err
	}
	if c.output == "json" {
		_, err = fmt.Fprintln(c.out, `{"deleted":true}`)
		return err
	}
	_, err = fmt.Fprintf(c.out, "deleted static IP %s\n", pos[0])
	return err
}
