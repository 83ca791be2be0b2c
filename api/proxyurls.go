package api

import (
	"context"

	"github.com/subgate/subgate"
)

// proxyURLsJSON is how an end customer connects as a sub-user: the public
// gateway address, the credentials with the asked targeting in the username
// and ready proxy URLs (percent-encoded).
type proxyURLsJSON struct {
	Host       string `json:"host"`
	HTTPPort   int    `json:"http_port"`
	SOCKS5Port int    `json:"socks5_port"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	HTTP       string `json:"http,omitempty"`
	SOCKS5     string `json:"socks5,omitempty"`
}

// proxyURLs answers GET /v1/subusers/{ref}/proxy-urls?country=&session=…;
// the gateway's host, when not configured, is the one the API was reached at.
func (s *Server) proxyURLs(ctx context.Context, r *request) (response, error) {
	params := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 1 {
			return response{}, subgate.Invalidf(k, "is given more than once")
		}
		params[k] = vs[0]
	}
	t, err := subgate.ProxyTarget(params)
	if err != nil {
		return response{}, err
	}
	u, err := s.svc.SubUser(ctx, r.principal, r.PathValue("ref"))
	if err != nil {
		return response{}, err
	}
	a := s.svc.PublicGateway.ForHost(r.Host)
	if !a.Enabled() {
		return response{}, &subgate.Error{Code: subgate.ECONFLICT, Message: "no proxy gateway runs with this server"}
	}
	user := subgate.TargetedUsername(u.Username, t)
	return ok(proxyURLsJSON{
		Host: a.Host, HTTPPort: a.HTTPPort, SOCKS5Port: a.SOCKSPort, Username: user, Password: u.Password,
		HTTP: a.ProxyURL(subgate.ProxyHTTP, user, u.Password), SOCKS5: a.ProxyURL(subgate.ProxySOCKS5, user, u.Password),
	})
}
