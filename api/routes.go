package api

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route"
)

// Routes is the gateway's routing as the admin manages it through the API
// (*route.Follower implements it): the configuration in force on this node,
// where it comes from, and putting a stored one in force.
type Routes interface {
	// Config returns a copy the caller may change.
	Config() route.Config
	Health() []route.EgressHealth
	State() route.FollowState
	// Check says whether this node could put cfg in force, naming the field.
	Check(route.Config) error
	// Apply puts a stored configuration (or, without one, the fallback) in force.
	Apply(subgate.StoredRoutes) error
}

// SetRoutes lets the admin read, replace and drop the routing configuration
// and read egress health under /v1/routes. Call it before serving; without
// it those paths answer 404 (the gateway is off on this server).
func (s *Server) SetRoutes(r Routes) { s.router = r }

// routesView is the configuration in force, redacted, and its source.
type routesView struct {
	route.Config
	Source subgate.RouteSource `json:"source"`
}

// routesIn is a PUT body: a configuration, maybe as GET showed it (the
// source it carries is read-only and ignored).
type routesIn struct {
	route.Config
	Source subgate.RouteSource `json:"source,omitempty"`
}

// routesFor checks that the caller is the admin and that this server routes.
func (s *Server) routesFor(p subgate.Principal) (Routes, error) {
	if err := s.svc.ManageRoutes(p); err != nil {
		return nil, err
	}
	if s.router == nil {
		return nil, subgate.Errorf(subgate.ENOTFOUND, "routes not found: the proxy gateway is off on this server")
	}
	return s.router, nil
}

func viewOf(rt Routes) routesView {
	return routesView{Config: redactRoutes(rt.Config()), Source: rt.State().Source}
}

func (s *Server) getRoutes(_ context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	return ok(viewOf(rt))
}

// putRoutes validates a whole configuration, stores it for every node and
// puts it in force here; on any error nothing is stored and the
// configuration in force stays. Passwords sent back redacted, as GET shows
// them, keep the current password of the same proxy and account.
func (s *Server) putRoutes(ctx context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	var in routesIn
	if err := r.decode(&in, false); err != nil {
		return response{}, err
	}
	switch in.Source {
	case "", subgate.RouteSourceStored, subgate.RouteSourceFile, subgate.RouteSourceDefault:
	default:
		return response{}, subgate.Invalidf("source", "must be stored, file or default (it is read-only and may be left out)")
	}
	cfg := in.Config
	// Validate first, so a bad field is named as such rather than as a
	// password that cannot be restored for it.
	if err := cfg.Validate(); err != nil {
		return response{}, err
	}
	if err := unredactRoutes(&cfg, rt.Config()); err != nil {
		return response{}, err
	}
	if err := rt.Check(cfg); err != nil {
		return response{}, err
	}
	doc, err := json.Marshal(cfg)
	if err != nil {
		return response{}, err
	}
	st, err := s.svc.StoreRoutes(ctx, r.principal, doc)
	if err != nil {
		return response{}, err
	}
	if err := rt.Apply(st); err != nil {
		return response{}, err
	}
	s.logger.Info("routes stored through the API", "version", st.Version)
	return ok(viewOf(rt))
}

// deleteRoutes drops the stored configuration: every node goes back to its
// routes file or the default.
func (s *Server) deleteRoutes(ctx context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	st, err := s.svc.DropStoredRoutes(ctx, r.principal)
	if err != nil {
		return response{}, err
	}
	if err := rt.Apply(st); err != nil {
		return response{}, err
	}
	s.logger.Info("stored routes dropped through the API", "version", st.Version)
	return ok(viewOf(rt))
}

func (s *Server) routesHealth(_ context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	return ok(struct {
		Items []route.EgressHealth `json:"items"`
		route.FollowState
	}{rt.Health(), rt.State()})
}

// redactRoutes hides every upstream and static proxy password.
func redactRoutes(c route.Config) route.Config {
	for p, rt := range c.Routes {
		for i := range rt.Upstreams {
			u := &rt.Upstreams[i]
			u.Password = redact(u.Password)
			for j := range u.Via {
				u.Via[j].Password = redact(u.Via[j].Password)
			}
		}
		for i := range rt.Static {
			rt.Static[i].Proxy = subgate.RedactStaticUpstream(rt.Static[i].Proxy)
		}
		c.Routes[p] = rt
	}
	return c
}

func redact(pw string) string {
	if pw == "" {
		return ""
	}
	return subgate.RedactedPassword
}

// unredactRoutes puts the current passwords back where cfg carries the
// redaction mark, but only for the same proxy address and account: a
// redacted password never follows a proxy to another host.
func unredactRoutes(cfg *route.Config, cur route.Config) error {
	for p, rt := range cfg.Routes {
		field := "routes." + string(p)
		old := cur.Routes[p]
		for i := range rt.Upstreams {
			u := &rt.Upstreams[i]
			f := field + ".upstreams[" + strconv.Itoa(i) + "]"
			prev := findUpstream(old.Upstreams, u)
			if err := unredactProxy(&u.Proxy, proxyOrNil(prev, -1), f); err != nil {
				return err
			}
			for j := range u.Via {
				if err := unredactProxy(&u.Via[j], proxyOrNil(prev, j), f+".via["+strconv.Itoa(j)+"]"); err != nil {
					return err
				}
			}
		}
		for i := range rt.Static {
			e := &rt.Static[i]
			if _, pass, ok := subgate.SplitStaticUpstream(e.Proxy); !ok || pass != subgate.RedactedPassword {
				continue
			}
			id := subgate.StaticUpstreamIdentity(e.Proxy)
			restored := false
			for _, o := range old.Static {
				if o.Proxy != "" && subgate.StaticUpstreamIdentity(o.Proxy) == id {
					e.Proxy, restored = o.Proxy, true
					break
				}
			}
			if !restored {
				return subgate.Invalidf(field+".static["+strconv.Itoa(i)+"].proxy", "has a redacted password and is not a proxy configured now; send its password")
			}
		}
		cfg.Routes[p] = rt
	}
	return nil
}

// findUpstream is the current upstream of the same name (the address when unnamed).
func findUpstream(ups []route.Upstream, u *route.Upstream) *route.Upstream {
	name := u.Name
	if name == "" {
		name = u.Address
	}
	for i := range ups {
		if ups[i].Name == name {
			return &ups[i]
		}
	}
	return nil
}

// proxyOrNil is the upstream itself (hop -1) or its via hop.
func proxyOrNil(u *route.Upstream, hop int) *route.Proxy {
	switch {
	case u == nil:
		return nil
	case hop < 0:
		return &u.Proxy
	case hop < len(u.Via):
		return &u.Via[hop]
	}
	return nil
}

func unredactProxy(p, prev *route.Proxy, field string) error {
	if p.Password != subgate.RedactedPassword {
		return nil
	}
	if prev == nil || prev.Address != p.Address || prev.Username != p.Username {
		return subgate.Invalidf(field+".password", "is redacted but the proxy address or username changed; send the password")
	}
	p.Password = prev.Password
	return nil
}
