package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
	"github.com/subgate/subgate/web"
)

// dashboardBase is where serve mounts the web dashboard on the API port.
const dashboardBase = "/dashboard"

// onOff is a setting that turns something on or off. The config file may
// give it as a boolean or a string; flags and the environment as on/off,
// true/false or 1/0.
type onOff string

func (o *onOff) UnmarshalJSON(b []byte) error {
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*o = onOff(fmt.Sprint(v))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want true or false")
	}
	*o = onOff(s)
	return nil
}

// enabled reads the setting; name is for the error.
func (o onOff) enabled(name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(string(o))) {
	case "", "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is neither on nor off", name, string(o))
}

// withDashboard mounts the dashboard on the API server, unless it is turned
// off, and returns the API's handler with "/" leading to it.
func withDashboard(cfg config, srv *api.Server, svc *subgate.Service, logger *slog.Logger) (http.Handler, error) {
	on, err := cfg.Dashboard.enabled("dashboard")
	if err != nil || !on {
		return srv.Handler(), err
	}
	dash, err := web.New(svc, web.Options{Base: dashboardBase, Logger: logger})
	if err != nil {
		return nil, err
	}
	srv.Mount(dashboardBase, dash.Handler())
	return web.RedirectRoot(srv.Handler(), dashboardBase), nil
}
