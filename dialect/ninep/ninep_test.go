package ninep_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
)

func spec(t *testing.T) *dialecttest.Spec {
	s := dialecttest.LoadSpec(t, "testdata/openapi.yaml")
	s.Strict = true
	return s
}

type client struct {
	env *dialecttest.Env
	key string
}

// do calls path with the api-key added to query.
func (c *client) do(t *testing.T, method, path, query, body string) dialecttest.Response {
	t.Helper()
	q := "api-key=" + url.QueryEscape(c.key)
	if query != "" {
		q += "&" + query
	}
	return c.env.Do(t, method, c.env.URL(dialecttest.NineP, "/client/v1/user-passes/"+path+"?"+q), body)
}

type item struct {
	ID         int64  `json:"id"`
	UserName   string `json:"user_name"`
	UseKey     string `json:"use_key"`
	UsageCap   int64  `json:"usage_cap"`
	IPUsageCap int64  `json:"ip_usage_cap"`
	DataUsed   int64  `json:"data_used"`
	IPUsed     int64  `json:"ip_used"`
	Status     int    `json:"status"`
	Note       string `json:"note"`
	CreatedAt  int64  `json:"created_at"`
	UpdatedAt  int64  `json:"updated_at"`
}

type itemResponse struct {
	Success bool
	Message string
	Result  item
}

type listResponse struct {
	Success bool
	Result  struct {
		Items      []item `json:"items"`
		TotalItems int64  `json:"total_items"`
		TotalPages int64  `json:"total_pages"`
	}
}

// The page's examples as written.
const (
	createExample = `{"user_name": "user_1", "use_key": "pass_123", "status": 1, "note": "This is Sub User 1", "usage_cap": 1000000000, "ip_usage_cap": -1}`
	updateExample = `{"id": 88, "user_name": "user_1", "use_key": "pass_123", "status": 1, "note": "This is Sub User 1", "usage_cap": 1000000000, "ip_usage_cap": -1}`
	deleteExample = `{"id": 88}`
	listExample   = "limit=30&page=1&sort_by=id&order_by=desc&keyword=user"
)

func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := &client{env: env, key: env.Reseller.APIToken}

	create := createExample
	s.CheckRequest(t, "POST", "/client/v1/user-passes/create", nil, "", create)
	before := time.Now().Unix()
	resp := c.do(t, "POST", "create", "", create)
	s.CheckResponse(t, "POST", "/client/v1/user-passes/create", resp)
	created := dialecttest.JSON[itemResponse](t, resp).Result
	want := item{ID: created.ID, UserName: "user_1", UseKey: "pass_123", UsageCap: 1_000_000_000, IPUsageCap: -1,
		Status: 1, Note: "This is Sub User 1", CreatedAt: created.CreatedAt, UpdatedAt: created.UpdatedAt}
	if resp.Status != 200 || created != want || created.CreatedAt < before-1 || created.CreatedAt > time.Now().Unix()+1 {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}

	s.CheckRequest(t, "GET", "/client/v1/user-passes/get-list", nil, listExample, "")
	resp = c.do(t, "GET", "get-list", listExample, "")
	s.CheckResponse(t, "GET", "/client/v1/user-passes/get-list", resp)
	list := dialecttest.JSON[listResponse](t, resp)
	if !list.Success || len(list.Result.Items) != 1 || list.Result.Items[0] != created ||
		list.Result.TotalItems != 1 || list.Result.TotalPages != 1 {
		t.Fatalf("list: %s", resp.Body)
	}

	// Id 88 does not exist here: the example as written is a 404.
	s.CheckRequest(t, "PUT", "/client/v1/user-passes/update", nil, "", updateExample)
	resp = c.do(t, "PUT", "update", "", updateExample)
	s.CheckResponse(t, "PUT", "/client/v1/user-passes/update", resp)
	dialecttest.CheckJSONError(t, resp, 404)
	update := strings.Replace(strings.Replace(updateExample, "88", strconv.FormatInt(created.ID, 10), 1), "pass_123", "pass456", 1)
	update = strings.Replace(update, `"status": 1`, `"status": 2`, 1)
	update = strings.Replace(update, `"ip_usage_cap": -1`, `"ip_usage_cap": 3`, 1)
	resp = c.do(t, "PUT", "update", "", update)
	s.CheckResponse(t, "PUT", "/client/v1/user-passes/update", resp)
	updated := dialecttest.JSON[itemResponse](t, resp).Result
	if resp.Status != 200 || updated.UseKey != "pass456" || updated.Status != 2 || updated.IPUsageCap != 3 || updated.ID != created.ID {
		t.Fatalf("update: %d %s", resp.Status, resp.Body)
	}
	u, _ := env.Svc.SubUser(context.Background(), env.Admin, strconv.FormatInt(created.ID, 10))
	if u.Status != subgate.StatusDisabled || u.Limits.IPUsageCap != 3 || u.Limits.UsageCap != 1_000_000_000 {
		t.Fatalf("stored: %+v", u)
	}

	s.CheckRequest(t, "DELETE", "/client/v1/user-passes/delete", nil, "", deleteExample)
	resp = c.do(t, "DELETE", "delete", "", deleteExample)
	s.CheckResponse(t, "DELETE", "/client/v1/user-passes/delete", resp)
	dialecttest.CheckJSONError(t, resp, 404)
	resp = c.do(t, "DELETE", "delete", "", fmt.Sprintf(`{"id": %d}`, created.ID))
	s.CheckResponse(t, "DELETE", "/client/v1/user-passes/delete", resp)
	if resp.Status != 200 {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	// ?id= works for clients that cannot send a body with DELETE.
	second := dialecttest.JSON[itemResponse](t, c.do(t, "POST", "create", "", `{"user_name":"user_2","use_key":"pass123","status":1}`)).Result
	if resp := c.do(t, "DELETE", "delete", fmt.Sprintf("id=%d", second.ID), ""); resp.Status != 200 {
		t.Fatalf("delete by query: %d %s", resp.Status, resp.Body)
	}
	resp = c.do(t, "GET", "get-list", "", "")
	if list := dialecttest.JSON[listResponse](t, resp); len(list.Result.Items) != 0 || list.Result.TotalPages != 0 {
		t.Fatalf("list after delete: %s", resp.Body)
	}
}

func TestUsageAndIPsUsed(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	env.RunAtNoon() // the ip_used day window must not turn
	c := &client{env: env, key: env.Reseller.APIToken}
	resp := c.do(t, "POST", "create", "", `{"user_name":"metered","use_key":"secret1","status":1}`)
	created := dialecttest.JSON[itemResponse](t, resp).Result
	if created.UsageCap != 0 || created.IPUsageCap != -1 {
		t.Fatalf("defaults: %s", resp.Body)
	}
	// A 9Proxy sub-user draws on the reseller's pool: nothing is given to it.
	u, err := env.Svc.SubUser(context.Background(), env.Admin, strconv.FormatInt(created.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if u.Funding != subgate.FundingShared {
		t.Fatalf("created funded %q, want shared", u.Funding)
	}
	env.RecordUsage(t, created.ID, subgate.ProductAny, 123_456, env.Svc.Now())
	env.CheckInvariant(t, env.Reseller.ID)
	got := dialecttest.JSON[listResponse](t, c.do(t, "GET", "get-list", "keyword=metered", ""))
	if len(got.Result.Items) != 1 || got.Result.Items[0].DataUsed != 123_456 || got.Result.Items[0].IPUsed != 1 {
		t.Fatalf("usage: %+v", got.Result.Items)
	}
}

func TestListOrderAndPages(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := &client{env: env, key: env.Reseller.APIToken}
	for i, name := range []string{"carol", "alice", "bob"} {
		body := fmt.Sprintf(`{"user_name":%q,"use_key":"key_%c","status":1,"usage_cap":%d,"ip_usage_cap":%d}`,
			name, 'z'-i, []int{5000, -1, 300}[i], []int{-1, 7, 2}[i])
		if resp := c.do(t, "POST", "create", "", body); resp.Status != 200 {
			t.Fatalf("%s: %s", name, resp.Body)
		}
	}
	names := func(query string) string {
		resp := c.do(t, "GET", "get-list", query, "")
		s.CheckResponse(t, "GET", "/client/v1/user-passes/get-list", resp)
		var out []string
		for _, it := range dialecttest.JSON[listResponse](t, resp).Result.Items {
			out = append(out, it.UserName)
		}
		return strings.Join(out, ",")
	}
	for query, want := range map[string]string{
		"":                                   "bob,alice,carol", // id, newest first
		"order_by=asc":                       "carol,alice,bob",
		"sort_by=user_name&order_by=asc":     "alice,bob,carol",
		"sort_by=user_name&limit=2&page=2":   "alice",
		"keyword=ali":                        "alice",
		"sort_by=use_key&order_by=asc":       "bob,alice,carol",
		"sort_by=use_key&limit=1&page=3":     "bob",
		"sort_by=usage_cap&order_by=asc":     "alice,bob,carol",
		"sort_by=ip_usage_cap&order_by=desc": "alice,bob,carol",
		"sort_by=ip_used&order_by=asc":       "carol,alice,bob",
		"sort_by=status&order_by=asc":        "carol,alice,bob",
		"sort_by=created_at&order_by=asc":    "carol,alice,bob",
		"sort_by=data_used":                  "bob,alice,carol",
	} {
		if got := names(query); got != want {
			t.Errorf("%q: got %s, want %s", query, got, want)
		}
	}
	resp := c.do(t, "GET", "get-list", "limit=2", "")
	if l := dialecttest.JSON[listResponse](t, resp); l.Result.TotalItems != 3 || l.Result.TotalPages != 2 {
		t.Fatalf("totals: %s", resp.Body)
	}
}
