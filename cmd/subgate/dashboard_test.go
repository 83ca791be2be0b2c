package main

import (
	"net/http"
	"testing"
)

func TestDashboardSwitch(t *testing.T) {
	t.Parallel()
	yaml := writeFile(t, "subgate.yaml", "dashboard: false\n")
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, nil, true},
		{map[string]string{"SUBGATE_CONFIG": yaml}, nil, false},
		{map[string]string{"SUBGATE_CONFIG": yaml}, []string{"--dashboard", "on"}, true},
		{map[string]string{"SUBGATE_DASHBOARD": "off"}, nil, false},
		{map[string]string{"SUBGATE_CONFIG": writeFile(t, "on.json", `{"dashboard":"on"}`)}, nil, true},
	} {
		c, err := loadTestConfig(t, tc.env, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if on, err := c.Dashboard.enabled("dashboard"); err != nil || on != tc.want {
			t.Errorf("%v %v: dashboard %v, %v; want %v", tc.env, tc.args, on, err, tc.want)
		}
	}
	if _, err := onOff("maybe").enabled("dashboard"); err == nil {
		t.Error(`"maybe" accepted as a switch`)
	}
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestServeMountsTheDashboard(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveEnv(t))
	for path, want := range map[string]int{"/": http.StatusFound, "/dashboard/login": http.StatusOK, "/dashboard/": http.StatusSeeOther} {
		resp, err := noRedirects.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	env := serveEnv(t)
	env["SUBGATE_DASHBOARD"] = "off"
	off := startServe(t, env)
	for _, path := range []string{"/", "/dashboard/login"} {
		resp, err := noRedirects.Get(off.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("dashboard off, GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}
