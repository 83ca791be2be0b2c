package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// resolveRef turns what a user typed for a sub-user into an API reference.
// Ids and hashes pass through; anything else is taken as a username and
// looked up, since that is what people remember.
func (c *client) resolveRef(ctx context.Context, ref string) (string, error) {
	if _, err := strconv.ParseInt(ref, 10, 64); err == nil || looksLikeHash(ref) {
		return ref, nil
	}
	var page subUserPageView
	q := url.Values{"search": {ref}, "per_page": {"1000"}}
	if _, err := c.do(ctx, "GET", "/v1/subusers", q, nil, &page); err != nil {
		return "", err
	}
	for _, u := range page.Items {
		if strings.EqualFold(u.Username, ref) {
			return strconv.FormatInt(u.ID, 10), nil
		}
	}
	return ref, nil // the API answers 404 with its own message
}

// looksLikeHash reports whether s has the shape of a ULID.
func looksLikeHash(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}
