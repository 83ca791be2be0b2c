package iproyal_test

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	for _, header := range [][]string{
		nil,
		{"Authorization", env.Reseller.APIToken}, // without "Bearer"
		{"Authorization", "Bearer sgr_wrong"},
		{"Authorization", "Basic dXNlcjpwYXNz"},
	} {
		resp := env.Do(t, "GET", env.URL(dialecttest.IPRoyal, "/v1/residential-subusers"), "", header...)
		s.CheckResponse(t, "GET", "/residential-subusers", resp)
		if m := dialecttest.CheckJSONError(t, resp, 401); m["message"] != "Unauthenticated." {
			t.Errorf("%v: %s", header, resp.Body)
		}
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}
	created := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers", `{"username":"keeper","password":"secret1","traffic":1}`))
	other := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers", `{"username":"taken","password":"secret1"}`))
	path := "/residential-subusers/" + created.Hash
	before := env.CheckInvariant(t, env.Reseller.ID)

	cases := []struct {
		name, method, path, template, body string
		status                             int
		field                              string
	}{
		{"create without username", "POST", "/residential-subusers", "/residential-subusers", `{"password":"secret1"}`, 422, "username"},
		{"create with a bad username", "POST", "/residential-subusers", "/residential-subusers", `{"username":"a b"}`, 422, "username"},
		{"create with a taken username", "POST", "/residential-subusers", "/residential-subusers", `{"username":"taken","password":"secret1"}`, 422, "username"},
		{"create with traffic as text", "POST", "/residential-subusers", "/residential-subusers", `{"username":"newone","traffic":"lots"}`, 422, "traffic"},
		{"create with negative traffic", "POST", "/residential-subusers", "/residential-subusers", `{"username":"newone","traffic":-1}`, 422, "traffic"},
		{"create beyond the pool", "POST", "/residential-subusers", "/residential-subusers", `{"username":"newone","traffic":1000}`, 422, "traffic"},
		{"create with negative limits", "POST", "/residential-subusers", "/residential-subusers", `{"username":"newone","limits":{"daily_limit":-5}}`, 422, "limits.daily_limit"},
		{"create with limits as a list", "POST", "/residential-subusers", "/residential-subusers", `{"username":"newone","limits":[5]}`, 422, "limits"},
		{"create with broken JSON", "POST", "/residential-subusers", "/residential-subusers", `{"username":`, 422, "body"},
		{"update to a taken username", "PUT", path, "/residential-subusers/{hash}", `{"username":"taken"}`, 422, "username"},
		{"update beyond the pool", "PUT", path, "/residential-subusers/{hash}", `{"username":"renamed","password":"changed1","limits":{"daily_limit":1},"traffic":1000}`, 422, "traffic"},
		{"update with a bad password", "PATCH", path, "/residential-subusers/{hash}", `{"password":"has space"}`, 422, "password"},
		{"give without amount", "POST", path + "/give-traffic", "/residential-subusers/{hash}/give-traffic", `{}`, 422, "amount"},
		{"give zero", "POST", path + "/give-traffic", "/residential-subusers/{hash}/give-traffic", `{"amount":0}`, 422, "amount"},
		{"give beyond the pool", "POST", path + "/give-traffic", "/residential-subusers/{hash}/give-traffic", `{"amount":1000}`, 422, "amount"},
		{"take more than available", "POST", path + "/take-traffic", "/residential-subusers/{hash}/take-traffic", `{"amount":2}`, 422, "amount"},
		{"list with a bad page", "GET", "/residential-subusers?page=0", "/residential-subusers", "", 422, "page"},
		{"list with a huge page size", "GET", "/residential-subusers?per_page=100000", "/residential-subusers", "", 422, "per_page"},
		{"missing sub-user", "GET", "/residential-subusers/01HQ5K3P97DY8EX9Y90YT1K6XA", "/residential-subusers/{hash}", "", 404, ""},
		{"give to a missing sub-user", "POST", "/residential-subusers/01HQ5K3P97DY8EX9Y90YT1K6XA/give-traffic", "/residential-subusers/{hash}/give-traffic", `{"amount":1}`, 404, ""},
	}
	for _, tc := range cases {
		resp := c.do(t, tc.method, tc.path, tc.body)
		s.CheckResponse(t, tc.method, tc.template, resp)
		m := dialecttest.CheckJSONError(t, resp, tc.status)
		if tc.field != "" {
			errs, _ := m["errors"].(map[string]any)
			if errs[tc.field] == nil {
				t.Errorf("%s: want errors.%s: %s", tc.name, tc.field, resp.Body)
			}
		}
	}
	for _, tc := range []struct{ method, path string }{{"GET", "/nowhere"}, {"DELETE", "/residential-subusers"}, {"POST", path}} {
		resp := c.do(t, tc.method, tc.path, "")
		if m := dialecttest.CheckJSONError(t, resp, map[bool]int{true: 404, false: 405}[tc.path == "/nowhere"]); m["message"] == "" {
			t.Errorf("%s %s: %s", tc.method, tc.path, resp.Body)
		}
	}

	after := env.CheckInvariant(t, env.Reseller.ID)
	for p, l := range before {
		if after[p] != l {
			t.Errorf("product %s changed: %+v -> %+v", p, l, after[p])
		}
	}
	u, _ := env.Svc.SubUser(context.Background(), env.Admin, created.Hash)
	if got := dialecttest.JSON[resource](t, c.do(t, "GET", path, "")); got != created || u.Limits != (subgate.Limits{}) {
		t.Fatalf("sub-user changed: %+v %+v", got, u.Limits)
	}
	if got := dialecttest.JSON[resource](t, c.do(t, "GET", "/residential-subusers/"+other.Hash, "")); got != other {
		t.Fatalf("other sub-user changed: %+v", got)
	}
}

func TestAnotherResellersSubUserIsNotFound(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	owner := &client{env: env, token: env.Reseller.APIToken}
	created := dialecttest.JSON[resource](t, owner.do(t, "POST", "/residential-subusers", `{"username":"mine","password":"secret1","traffic":1}`))
	other := &client{env: env, token: env.NewReseller(t, "second", 10).APIToken}
	path := "/residential-subusers/" + created.Hash
	for _, r := range []struct{ method, path, body string }{
		{"GET", path, ""}, {"PUT", path, `{"traffic":0}`}, {"PATCH", path, `{"password":"stolen1"}`},
		{"DELETE", path, ""}, {"POST", path + "/give-traffic", `{"amount":1}`}, {"POST", path + "/take-traffic", `{"amount":1}`},
	} {
		dialecttest.CheckJSONError(t, other.do(t, r.method, r.path, r.body), 404)
	}
	if got := dialecttest.JSON[resource](t, owner.do(t, "GET", path, "")); got != created {
		t.Fatalf("changed by another reseller: %+v", got)
	}
	if resp := other.do(t, "GET", "/residential-subusers", ""); !containsAll(string(resp.Body), `"data":[]`, `"total":0`) {
		t.Fatalf("other reseller's list: %s", resp.Body)
	}
}
