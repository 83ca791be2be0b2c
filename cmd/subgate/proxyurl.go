package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
)

const proxyURLUsage = `Usage: subgate subuser proxy-url <id|hash|username> [flags]

Prints a ready-to-use proxy URL of the sub-user on the gateway's public
address (the server's public_proxy setting), with the targeting flags in
the username and user and password percent-encoded, e.g.
  curl -x "$(subgate subuser proxy-url alice --country us)" https://example.com/
--socks prints the SOCKS5 URL (socks5h://) instead of the HTTP one.`

func (a *app) subuserProxyURL(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser proxy-url", proxyURLUsage)
	socks := cmd.fs.Bool("socks", false, "print the SOCKS5 URL instead of the HTTP one")
	params := map[string]*string{
		"product": cmd.fs.String("product", "", "balance to use: res, dc, stc or mob"),
		"country": cmd.fs.String("country", "", "two-letter country code, e.g. us"),
		"state":   cmd.fs.String("state", "", "state, e.g. texas"),
		"city":    cmd.fs.String("city", "", "city, e.g. dallas"),
		"session": cmd.fs.String("session", "", "sticky session id, 1-64 letters and digits"),
		"ttl":     cmd.fs.String("ttl", "", "how long the session sticks, e.g. 30m"),
	}
	pos, err := cmd.parse(args, 1, "a sub-user id, hash or username")
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range params {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	c, path, err := cmd.subuserClient(ctx, pos[0])
	if err != nil {
		return err
	}
	type proxyURLs struct {
		HTTP   string `json:"http"`
		SOCKS5 string `json:"socks5"`
	}
	return request(ctx, c, "GET", path+"/proxy-urls", q, nil, func(w io.Writer, out proxyURLs) error {
		u, kind := out.HTTP, "HTTP"
		if *socks {
			u, kind = out.SOCKS5, "SOCKS5"
		}
		if u == "" {
			return fmt.Errorf("the gateway has no %s port", kind)
		}
		_, err := fmt.Fprintln(w, u)
		return err
	})
}
