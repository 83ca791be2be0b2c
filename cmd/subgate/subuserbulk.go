package main

import (
	"context"
	"io"
	"strings"
)

const subuserBulkUsage = `Usage: subgate subuser bulk <id|hash|username>… [flags]
       subgate subuser bulk - [flags]    (references read from stdin)

Sets the same fields on up to 1000 sub-users in one transaction: all of them
change, or none (a reference that is not yours, or a change a single update
would refuse for any one of them, changes nothing). Only the fields whose
flags are given change; of the limits, only those given.`

func (a *app) subuserBulk(ctx context.Context, args []string) error {
	cmd := a.newCommand("subuser bulk", subuserBulkUsage)
	name := cmd.fs.String("name", "", "display name")
	note := cmd.fs.String("note", "", "free-text note")
	status := cmd.fs.String("status", "", "active or disabled")
	expires := cmd.fs.String("expires", "", `expiry as RFC 3339 time, or "never" to remove it`)
	limits := addLimitFlags(cmd.fs)
	refs, err := parseInterspersed(cmd.fs, args)
	if err != nil {
		return err
	}
	if len(refs) == 1 && refs[0] == "-" {
		in, err := io.ReadAll(a.stdin)
		if err != nil {
			return err
		}
		refs = strings.Fields(string(in))
	}
	if len(refs) == 0 {
		return badArgs(cmd.fs, "sub-user ids, hashes or usernames, or - to read them from stdin")
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	for i, ref := range refs {
		if refs[i], err = c.resolveRef(ctx, ref); err != nil {
			return err
		}
	}
	body := map[string]any{"subusers": refs}
	for flagName, v := range map[string]string{"name": *name, "note": *note, "status": *status} {
		if isSet(cmd.fs, flagName) {
			body[flagName] = v
		}
	}
	setExpires(body, cmd.fs, *expires)
	if l := limits.set(cmd.fs); len(l) > 0 {
		body["limits"] = l
	}
	return request(ctx, c, "PATCH", "/v1/subusers", nil, body, printSubUsers)
}
