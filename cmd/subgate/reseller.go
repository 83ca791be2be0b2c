package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

const resellerUsage = `Usage: subgate reseller <command> [arguments] [flags]

Commands (admin token):
  create <name>             create a reseller (--email and --password give it a login)
  list                      list resellers and their pools
  token <id>                issue an API token for a reseller (shown once)
  tokens <id>               list a reseller's tokens
  revoke <id> <token-id>    revoke a reseller's token
  credit <id> <amount>      add traffic to a reseller's pool
  debit <id> <amount>       remove traffic from a reseller's pool
  me                        show the calling reseller (reseller token)

` + apiCommandsFooter

func (a *app) reseller(ctx context.Context, args []string) error {
	return a.dispatch(ctx, args, "reseller command", resellerUsage, subcommands{
		"create": a.resellerCreate, "list": a.resellerList, "token": a.resellerToken,
		"tokens": a.resellerTokens, "revoke": a.resellerRevoke, "me": a.resellerMe,
		"credit": func(ctx context.Context, args []string) error { return a.resellerCredit(ctx, "credit", args) },
		"debit":  func(ctx context.Context, args []string) error { return a.resellerCredit(ctx, "debit", args) },
	})
}

func (a *app) resellerCreate(ctx context.Context, args []string) error {
	cmd := a.newCommand("reseller create", "Usage: subgate reseller create <name> [flags]")
	email := cmd.fs.String("email", "", "login e-mail (goes with --password)")
	password := cmd.fs.String("password", "", "login password, 8 to 72 characters")
	pos, err := cmd.parse(args, 1, "a name")
	if err != nil {
		return err
	}
	body := map[string]any{"name": pos[0]}
	if *email != "" {
		body["email"] = *email
	}
	if *password != "" {
		body["password"] = *password
	}
	return cmd.resellerCall(ctx, "POST", "/v1/resellers", body)
}

// resellerCall sends a request answered with one reseller and prints it.
func (cmd *command) resellerCall(ctx context.Context, method, path string, body any) error {
	c, err := cmd.client()
	if err != nil {
		return err
	}
	return request(ctx, c, method, path, nil, body, printReseller)
}

func (a *app) resellerList(ctx context.Context, args []string) error {
	cmd := a.newCommand("reseller list", "Usage: subgate reseller list [flags]")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	type list struct {
		Items []resellerView `json:"items"`
	}
	return request(ctx, c, "GET", "/v1/resellers", nil, nil, func(w io.Writer, out list) error {
		return printResellers(w, out.Items)
	})
}

func (a *app) resellerToken(ctx context.Context, args []string) error {
	cmd := a.newCommand("reseller token", "Usage: subgate reseller token <reseller-id> [flags]\n\nIssues an API token for the reseller. The token is printed once; keep it.")
	pos, c, err := cmd.parseClient(args, 1, "a reseller id")
	if err != nil {
		return err
	}
	type issued struct {
		Token string `json:"token"`
	}
	return request(ctx, c, "POST", "/v1/resellers/"+url.PathEscape(pos[0])+"/tokens", nil, nil, func(w io.Writer, out issued) error {
		_, err := fmt.Fprintln(w, out.Token)
		return err
	})
}

func (a *app) resellerCredit(ctx context.Context, name string, args []string) error {
	cmd := a.newTransferCommand("reseller "+name, "Usage: subgate reseller "+name+" <reseller-id> <amount> [flags]\n\nAmount: bytes or e.g. 100GB.")
	id, body, err := cmd.parse(args, "a reseller id and an amount")
	if err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	path := "/v1/resellers/" + url.PathEscape(id) + "/" + name
	return request(ctx, c.withKey(*cmd.key), "POST", path, nil, body, printReseller)
}

func (a *app) resellerMe(ctx context.Context, args []string) error {
	cmd := a.newCommand("reseller me", "Usage: subgate reseller me [flags]\n\nShows the pools and sub-user count of the reseller whose token is used.")
	if _, err := cmd.parse(args, 0, "no arguments"); err != nil {
		return err
	}
	return cmd.resellerCall(ctx, "GET", "/v1/me", nil)
}

func (a *app) resellerTokens(ctx context.Context, args []string) error {
	cmd := a.newCommand("reseller tokens", "Usage: subgate reseller tokens <reseller-id> [flags]")
	pos, c, err := cmd.parseClient(args, 1, "a reseller id")
	if err != nil {
		return err
	}
	type tokens struct {
		Items []struct {
			ID        int64      `json:"id"`
			Prefix    string     `json:"prefix"`
			CreatedAt time.Time  `json:"created_at"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"items"`
	}
	return request(ctx, c, "GET", "/v1/resellers/"+url.PathEscape(pos[0])+"/tokens", nil, nil, func(w io.Writer, out tokens) error {
		t := newTable(w)
		fmt.Fprintln(t, "ID\tPREFIX\tCREATED\tREVOKED")
		for _, tok := range out.Items {
			revoked := "-"
			if tok.RevokedAt != nil {
				revoked = tok.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(t, "%d\t%s…\t%s\t%s\n", tok.ID, tok.Prefix, tok.CreatedAt.Format(time.RFC3339), revoked)
		}
		return t.Flush()
	})
}

func (a *app) resellerRevoke(ctx context.Context, args []string) error {
	cmd := a.newCommand("reseller revoke", "Usage: subgate reseller revoke <reseller-id> <token-id> [flags]\n\nRevokes a token at once (ids from \"subgate reseller tokens\").")
	pos, c, err := cmd.parseClient(args, 2, "a reseller id and a token id")
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, "DELETE", "/v1/resellers/"+url.PathEscape(pos[0])+"/tokens/"+url.PathEscape(pos[1]), nil, nil, nil); err != nil {
		return err
	}
	if c.output == "json" {
		_, err = fmt.Fprintln(c.out, `{"revoked":true}`)
		return err
	}
	_, err = fmt.Fprintf(c.out, "revoked token %s of reseller %s\n", pos[1], pos[0])
	return err
}
