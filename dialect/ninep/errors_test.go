package ninep_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	for _, key := range []string{"", "sgr_wrong"} {
		c := &client{env: env, key: key}
		resp := c.do(t, "GET", "get-list", "", "")
		s.CheckResponse(t, "GET", "/client/v1/user-passes/get-list", resp)
		if m := dialecttest.CheckJSONError(t, resp, 401); m["success"] != false {
			t.Errorf("key %q: %s", key, resp.Body)
		}
	}
	// The key in the header works too.
	resp := env.Do(t, "GET", env.URL(dialecttest.NineP, "/client/v1/user-passes/get-list"), "", "api-key", env.Reseller.APIToken)
	if resp.Status != 200 {
		t.Fatalf("api-key header: %d %s", resp.Status, resp.Body)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := &client{env: env, key: env.Reseller.APIToken}
	created := dialecttest.JSON[itemResponse](t, c.do(t, "POST", "create", "", `{"user_name":"keeper","use_key":"secret1","status":1,"usage_cap":5}`)).Result
	dialecttest.JSON[itemResponse](t, c.do(t, "POST", "create", "", `{"user_name":"taken","use_key":"secret1","status":1}`))
	id := strconv.FormatInt(created.ID, 10)
	ctx := context.Background()
	// The operator blocks a third one (in the store: no API sets blocked).
	blocked := dialecttest.JSON[itemResponse](t, c.do(t, "POST", "create", "", `{"user_name":"blocked","use_key":"secret1","status":1}`)).Result
	blockedID := strconv.FormatInt(blocked.ID, 10)
	st := subgate.StatusBlocked
	if _, err := env.Store.UpdateSubUser(ctx, 0, blocked.ID, subgate.SubUserUpdate{Status: &st}, time.Now()); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, method, path, query, body string
		status                          int
		field                           string
	}{
		{"create without user_name", "POST", "create", "", `{"use_key":"secret1","status":1}`, 400, "user_name"},
		{"create without use_key", "POST", "create", "", `{"user_name":"newone","status":1}`, 400, "use_key"},
		{"create without status", "POST", "create", "", `{"user_name":"newone","use_key":"secret1"}`, 400, "status"},
		{"create blocked", "POST", "create", "", `{"user_name":"newone","use_key":"secret1","status":3}`, 400, "status"},
		{"create with status 7", "POST", "create", "", `{"user_name":"newone","use_key":"secret1","status":7}`, 400, "status"},
		{"create with a taken name", "POST", "create", "", `{"user_name":"taken","use_key":"secret1","status":1}`, 400, ""},
		{"create with a bad name", "POST", "create", "", `{"user_name":"no-dash","use_key":"secret1","status":1}`, 400, "user_name"},
		{"create with usage_cap as text", "POST", "create", "", `{"user_name":"newone","use_key":"secret1","status":1,"usage_cap":"x"}`, 400, "usage_cap"},
		{"create with fractional usage_cap", "POST", "create", "", `{"user_name":"newone","use_key":"secret1","status":1,"usage_cap":1.5}`, 400, "usage_cap"},
		{"create with ip_usage_cap 0", "POST", "create", "", `{"user_name":"newone","use_key":"secret1","status":1,"ip_usage_cap":0}`, 400, "ip_usage_cap"},
		{"create with ip_usage_cap -2", "POST", "create", "", `{"user_name":"newone","use_key":"secret1","status":1,"ip_usage_cap":-2}`, 400, "ip_usage_cap"},
		{"create with broken JSON", "POST", "create", "", `{"user_name"`, 400, "body"},
		{"update without id", "PUT", "update", "", `{"use_key":"secret2","status":1}`, 400, "id"},
		{"update with id as text", "PUT", "update", "", `{"id":"x","status":1}`, 400, "id"},
		{"update to a taken name", "PUT", "update", "", `{"id":` + id + `,"user_name":"taken","use_key":"secret1","status":1}`, 400, ""},
		{"update a missing sub-user", "PUT", "update", "", `{"id":999999,"use_key":"secret1","status":1}`, 404, ""},
		{"update to blocked", "PUT", "update", "", `{"id":` + id + `,"use_key":"secret1","status":3}`, 400, "status"},
		{"unblock", "PUT", "update", "", `{"id":` + blockedID + `,"use_key":"secret1","status":1}`, 400, "status"},
		{"delete without id", "DELETE", "delete", "", ``, 400, "id"},
		{"delete a missing sub-user", "DELETE", "delete", "", `{"id":999999}`, 404, ""},
		{"delete with a bad query id", "DELETE", "delete", "id=abc", "", 400, "id"},
		{"list with a bad sort", "GET", "get-list", "sort_by=password", "", 400, "sort_by"},
		{"list with a bad order", "GET", "get-list", "order_by=up", "", 400, "order_by"},
		{"list with a bad limit", "GET", "get-list", "limit=0", "", 400, "limit"},
		{"list with a bad page", "GET", "get-list", "page=-1", "", 400, "page"},
	}
	templates := map[string]string{"create": "/client/v1/user-passes/create", "update": "/client/v1/user-passes/update",
		"delete": "/client/v1/user-passes/delete", "get-list": "/client/v1/user-passes/get-list"}
	for _, tc := range cases {
		resp := c.do(t, tc.method, tc.path, tc.query, tc.body)
		s.CheckResponse(t, tc.method, templates[tc.path], resp)
		dialecttest.CheckJSONError(t, resp, tc.status)
		if tc.field != "" && !strings.Contains(string(resp.Body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: want field %s: %s", tc.name, tc.field, resp.Body)
		}
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{{"GET", "nothing", 404}, {"POST", "get-list", 405}, {"GET", "delete", 405}} {
		resp := c.do(t, tc.method, tc.path, "", "")
		if m := dialecttest.CheckJSONError(t, resp, tc.status); m["success"] != false {
			t.Errorf("%s %s: %s", tc.method, tc.path, resp.Body)
		}
		s.CheckSchema(t, "Error", resp.Body)
	}

	// Echoing status 3 for the blocked one changes nothing but is accepted.
	if resp := c.do(t, "PUT", "update", "", `{"id":`+blockedID+`,"use_key":"secret9","status":3}`); resp.Status != 200 ||
		dialecttest.JSON[itemResponse](t, resp).Result.Status != 3 {
		t.Fatalf("echo blocked: %d %s", resp.Status, resp.Body)
	}
	list := dialecttest.JSON[listResponse](t, c.do(t, "GET", "get-list", "keyword=keeper", ""))
	if len(list.Result.Items) != 1 || list.Result.Items[0] != created {
		t.Fatalf("sub-user changed: %+v", list.Result.Items)
	}
	if all := dialecttest.JSON[listResponse](t, c.do(t, "GET", "get-list", "", "")); all.Result.TotalItems != 3 {
		t.Fatalf("%d sub-users, want 3", all.Result.TotalItems)
	}
}

func TestAnotherResellersSubUserIsNotFound(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	owner := &client{env: env, key: env.Reseller.APIToken}
	created := dialecttest.JSON[itemResponse](t, owner.do(t, "POST", "create", "", `{"user_name":"mine","use_key":"secret1","status":1}`)).Result
	id := strconv.FormatInt(created.ID, 10)
	other := &client{env: env, key: env.NewReseller(t, "second", 10).APIToken}
	dialecttest.CheckJSONError(t, other.do(t, "PUT", "update", "", `{"id":`+id+`,"use_key":"stolen1","status":2}`), 404)
	dialecttest.CheckJSONError(t, other.do(t, "DELETE", "delete", "", `{"id":`+id+`}`), 404)
	if l := dialecttest.JSON[listResponse](t, other.do(t, "GET", "get-list", "", "")); l.Result.TotalItems != 0 {
		t.Fatalf("other reseller sees %d", l.Result.TotalItems)
	}
	if l := dialecttest.JSON[listResponse](t, owner.do(t, "GET", "get-list", "", "")); len(l.Result.Items) != 1 || l.Result.Items[0] != created {
		t.Fatalf("changed by another reseller: %+v", l.Result.Items)
	}
}
