package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

const ledgerUsage = `Usage: subgate ledger [flags]

Lists the movements of traffic (credits, debits, gives, takes, returns,
usage, overdrafts), newest first: a reseller token sees its own, the admin
token every reseller's. Page back with --before set to the id the previous
page ends with.`

type ledgerPageView struct {
	Items []struct {
		ID         int64     `json:"id"`
		ResellerID int64     `json:"reseller_id"`
		SubUserID  int64     `json:"subuser_id"`
		Product    string    `json:"product"`
		Kind       string    `json:"kind"`
		Bytes      int64     `json:"bytes"`
		Key        string    `json:"idempotency_key"`
		CreatedAt  time.Time `json:"created_at"`
	} `json:"items"`
	NextBefore int64 `json:"next_before"`
}

func (a *app) ledger(ctx context.Context, args []string) error {
	cmd := a.newCommand("ledger", ledgerUsage)
	kind := cmd.fs.String("kind", "", "only this movement: credit, debit, give, take, return, usage, overdraft or pool_usage")
	product := cmd.fs.String("product", "", "only this product: res, dc, stc, mob or *")
	subuser := cmd.fs.String("subuser", "", "only this sub-user `REF`: id, hash or username")
	before := cmd.fs.Int64("before", 0, "only entries with a smaller id (the previous page's last)")
	limit := cmd.fs.Int("limit", 0, "entries per page (default 100, at most 1000)")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"kind": *kind, "product": *product} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *subuser != "" {
		ref, err := c.resolveRef(ctx, *subuser)
		if err != nil {
			return err
		}
		q.Set("subuser", ref)
	}
	if isSet(cmd.fs, "before") {
		q.Set("before", strconv.FormatInt(*before, 10))
	}
	if isSet(cmd.fs, "limit") {
		q.Set("limit", strconv.Itoa(*limit))
	}
	return request(ctx, c, "GET", "/v1/ledger", q, nil, printLedger)
}

func printLedger(w io.Writer, page ledgerPageView) error {
	t := newTable(w)
	fmt.Fprintln(t, "ID\tTIME\tKIND\tPRODUCT\tAMOUNT\tRESELLER\tSUBUSER\tKEY")
	for _, e := range page.Items {
		sub, key := "-", "-"
		if e.SubUserID != 0 {
			sub = strconv.FormatInt(e.SubUserID, 10)
		}
		if e.Key != "" {
			key = e.Key
		}
		fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.CreatedAt.Format(time.RFC3339),
			e.Kind, e.Product, formatBytes(e.Bytes), e.ResellerID, sub, key)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if page.NextBefore != 0 {
		fmt.Fprintf(w, "more: --before %d\n", page.NextBefore)
	}
	return nil
}
