package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route"
)

const routesUsage = `Usage: subgate routes <command> [arguments] [flags]

Commands (admin token):
  show                      the routing configuration in force and its source
  health                    the state, failures and open connections of every egress
  put <file>                store a whole new configuration (JSON; - reads stdin)
  reset                     drop the stored configuration: back to the routes file

A configuration put is in force on every node, across restarts, until reset.
Passwords read ****; sending **** back keeps the current password.

` + apiCommandsFooter

func (a *app) routes(ctx context.Context, args []string) error {
	return a.dispatch(ctx, args, "routes command", routesUsage, subcommands{
		"show": a.routesShow, "health": a.routesHealth, "put": a.routesPut, "reset": a.routesReset,
	})
}

// routesView is the configuration in force as the API shows it.
type routesView struct {
	route.Config
	Source string `json:"source"`
}

func (a *app) routesShow(ctx context.Context, args []string) error {
	cmd := a.newCommand("routes show", "Usage: subgate routes show [flags]\n\nShows the routing configuration in force (passwords as ****) and where it comes from: stored, file or default.")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	return request(ctx, c, "GET", "/v1/routes", nil, nil, printRoutes)
}

const routesPutUsage = `Usage: subgate routes put <file|-> [flags]

Stores a whole routing configuration, read as JSON from the file (or stdin
with -), in the format of the routes file; "subgate routes show --output
json" gives the one in force to edit. An invalid one is refused naming the
field, and nothing changes.`

func (a *app) routesPut(ctx context.Context, args []string) error {
	cmd := a.newCommand("routes put", routesPutUsage)
	key := cmd.fs.String("idempotency-key", "", "makes a retried command store once")
	pos, err := cmd.parse(args, 1, "a JSON file, or - for stdin")
	if err != nil {
		return err
	}
	doc, err := a.readInput(pos[0])
	if err != nil {
		return err
	}
	if !json.Valid(doc) {
		return fmt.Errorf("%s is not valid JSON", pos[0])
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	return request(ctx, c.withKey(*key), "PUT", "/v1/routes", nil, json.RawMessage(doc), printRoutes)
}

// readInput reads a named file, or stdin for "-".
func (a *app) readInput(name string) ([]byte, error) {
	if name != "-" {
		return os.ReadFile(name)
	}
	in := a.stdin
	if in == nil {
		in = os.Stdin
	}
	return io.ReadAll(in)
}

func (a *app) routesReset(ctx context.Context, args []string) error {
	cmd := a.newCommand("routes reset", "Usage: subgate routes reset [flags]\n\nDrops the stored configuration: every node goes back to its routes file, or\nto every product direct without one. Shows the configuration then in force.")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	return request(ctx, c, "DELETE", "/v1/routes", nil, nil, printRoutes)
}

func printRoutes(w io.Writer, v routesView) error {
	t := newTable(w)
	fmt.Fprintf(t, "source\t%s\n", v.Source)
	settings := []struct {
		name string
		d    route.Duration
	}{
		{"session_ttl", v.SessionTTL}, {"max_session_ttl", v.MaxSessionTTL}, {"dial_timeout", v.DialTimeout},
		{"unhealthy_backoff", v.UnhealthyBackoff}, {"max_backoff", v.MaxBackoff},
	}
	if v.DefaultProduct != "" {
		fmt.Fprintf(t, "default_product\t%s\n", v.DefaultProduct)
	}
	for _, s := range settings {
		if s.d != 0 {
			fmt.Fprintf(t, "%s\t%s\n", s.name, time.Duration(s.d))
		}
	}
	if v.MaxSessions != 0 {
		fmt.Fprintf(t, "max_sessions\t%d\n", v.MaxSessions)
	}
	fmt.Fprintf(t, "allow_private_targets\t%t\n", v.AllowPrivateTargets)
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w)
	fmt.Fprintln(t, "PRODUCT\tKIND\tPICK\tEGRESS")
	products := make([]subgate.Product, 0, len(v.Routes))
	for p := range v.Routes {
		products = append(products, p)
	}
	slices.Sort(products)
	for _, p := range products {
		r := v.Routes[p]
		pick := string(r.Pick)
		if pick == "" {
			pick = "-"
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", p, r.Kind, pick, egressOf(r))
	}
	return t.Flush()
}

// egressOf sums up where a route leaves from, for one table cell.
func egressOf(r route.Route) string {
	var parts []string
	switch {
	case len(r.Upstreams) > 0:
		for _, u := range r.Upstreams {
			parts = append(parts, u.Name+"="+u.Address)
		}
	case len(r.Static) > 0:
		for _, s := range r.Static {
			parts = append(parts, firstNonEmpty(s.ID, s.Address, s.Proxy))
		}
	case len(r.SourceAddrs) > 0:
		parts = r.SourceAddrs
	case r.Kind == route.KindStatic:
		parts = []string{"inventory"}
	default:
		parts = []string{"gateway host"}
	}
	out := strings.Join(parts, ", ")
	if r.Dedicated {
		out += " (dedicated)"
	}
	return out
}

func (a *app) routesHealth(ctx context.Context, args []string) error {
	cmd := a.newCommand("routes health", "Usage: subgate routes health [flags]\n\nLists every egress with its state, failures and open connections, and which\nconfiguration is in force on the node answering.")
	_, c, err := cmd.parseClient(args, 0, "no arguments")
	if err != nil {
		return err
	}
	type health struct {
		Items []route.EgressHealth `json:"items"`
		route.FollowState
	}
	return request(ctx, c, "GET", "/v1/routes/health", nil, nil, func(w io.Writer, h health) error {
		fmt.Fprintf(w, "source %s, stored version %d\n", h.Source, h.Version)
		if h.Failure != nil {
			fmt.Fprintf(w, "refused stored version %d: %s\n", h.Failure.Version, h.Failure.Error)
		}
		t := newTable(w)
		fmt.Fprintln(t, "PRODUCT\tEGRESS\tUP\tDOWN UNTIL\tFAILURES\tACTIVE")
		for _, e := range h.Items {
			down := "-"
			if e.DownUntil != nil {
				down = e.DownUntil.Format(time.RFC3339)
			}
			fmt.Fprintf(t, "%s\t%s\t%t\t%s\t%s\t%d\n", e.Product, e.Egress, e.Up, down, strconv.FormatUint(e.Failures, 10), e.Active)
		}
		return t.Flush()
	})
}
