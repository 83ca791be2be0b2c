package api

import (
	"context"
	"strconv"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/route"
)

// Routes is the gateway's router as the admin manages it through the API
// (*route.Router implements it). Config returns a copy the caller may change.
type Routes interface {
	Config() route.Config
	Reload(route.Config) error
	Health() []route.EgressHealth
}

// SetRoutes lets the admin read and replace the routing configuration and
// read egress health under /v1/routes. Call it before serving; without it
// those paths answer 404 (the gateway is off on this server).
func (s *Server) SetRoutes(r Routes) { s.router = r }

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

func (s *Server) getRoutes(_ context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	return ok(redactRoutes(rt.Config()))
}

// putRoutes validates a whole configuration and swaps it in; on any error
// the configuration in force stays. Passwords sent back redacted, as GET
// shows them, keep the current password of the same proxy and account.
func (s *Server) putRoutes(_ context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	var cfg route.Config
	if err := r.decode(&cfg, false); err != nil {
		return response{}, err
	}
	// Validate first, so a bad field is named as such rather than as a
	// password that cannot be restored for it.
	if err := cfg.Validate(); err != nil {
		return response{}, err
	}
	if err := unredactRoutes(&cfg, rt.Config()); err != nil {
		return response{}, err
	}
	if err := rt.Reload(cfg); err != nil {
		return response{}, err
	}
	s.logger.Info("routes replaced through the API")
	return ok(redactRoutes(rt.Config()))
}

func (s *Server) routesHealth(_ context.Context, r *request) (response, error) {
	rt, err := s.routesFor(r.principal)
	if err != nil {
		return response{}, err
	}
	return ok(struct {
		Items []route.EgressHealth `json:"items"`
	}{rt.Health()})
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
