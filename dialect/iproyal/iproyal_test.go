package iproyal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/dialect/dialecttest"
	"github.com/subgate/subgate/dialect/iproyal"
)

func spec(t *testing.T) *dialecttest.Spec {
	s := dialecttest.LoadSpec(t, "testdata/openapi.yaml")
	s.Strict = true
	return s
}

type client struct {
	env   *dialecttest.Env
	token string
}

func (c *client) do(t *testing.T, method, path, body string) dialecttest.Response {
	t.Helper()
	return c.env.Do(t, method, c.env.URL(dialecttest.IPRoyal, "/v1"+path), body, "Authorization", "Bearer "+c.token)
}

type resource struct {
	ID               int64   `json:"id"`
	Hash             string  `json:"hash"`
	Username         string  `json:"username"`
	Password         string  `json:"password"`
	TrafficAvailable float64 `json:"traffic_available"`
	TrafficUsed      float64 `json:"traffic_used"`
}

// The examples exactly as IPRoyal's page shows them (trailing comma included).
const (
	createExample = `{
"username": "subuser123",
"password": "securepassword",
"traffic": 10.0,
}`
	updateExample = `{
"username": "new_username",
"password": "new_password",
"traffic": 5.0
}`
	amountExample = `{
"amount": 5.0
}`
)

func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}

	resp := c.do(t, "POST", "/residential-subusers", createExample)
	s.CheckResponse(t, "POST", "/residential-subusers", resp)
	created := dialecttest.JSON[resource](t, resp)
	if resp.Status != 201 || created.Username != "subuser123" || created.Password != "securepassword" ||
		created.TrafficAvailable != 10 || created.TrafficUsed != 0 {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	path := "/residential-subusers/" + created.Hash

	resp = c.do(t, "GET", path, "")
	s.CheckResponse(t, "GET", "/residential-subusers/{hash}", resp)
	if got := dialecttest.JSON[resource](t, resp); got != created {
		t.Fatalf("get: %s", resp.Body)
	}

	s.CheckRequest(t, "GET", "/residential-subusers", nil, "page=1&per_page=10&search=subuser", "")
	resp = c.do(t, "GET", "/residential-subusers?page=1&per_page=10&search=subuser", "")
	s.CheckResponse(t, "GET", "/residential-subusers", resp)
	page := dialecttest.JSON[struct {
		Data []resource
		Meta struct {
			CurrentPage int    `json:"current_page"`
			From        *int   `json:"from"`
			LastPage    int    `json:"last_page"`
			Path        string `json:"path"`
			PerPage     int    `json:"per_page"`
			To          *int   `json:"to"`
			Total       int64  `json:"total"`
		}
	}](t, resp)
	if len(page.Data) != 1 || page.Data[0] != created || page.Meta.Total != 1 || page.Meta.PerPage != 10 ||
		page.Meta.From == nil || *page.Meta.From != 1 || *page.Meta.To != 1 || page.Meta.LastPage != 1 ||
		page.Meta.Path != env.URL(dialecttest.IPRoyal, "/v1/residential-subusers") {
		t.Fatalf("list: %s", resp.Body)
	}

	s.CheckRequest(t, "PUT", "/residential-subusers/{hash}", map[string]string{"hash": created.Hash}, "", updateExample)
	resp = c.do(t, "PUT", path, updateExample)
	s.CheckResponse(t, "PUT", "/residential-subusers/{hash}", resp)
	updated := dialecttest.JSON[resource](t, resp)
	if resp.Status != 200 || updated.Username != "new_username" || updated.Password != "new_password" ||
		updated.TrafficAvailable != 5 || updated.Hash != created.Hash {
		t.Fatalf("update: %d %s", resp.Status, resp.Body)
	}

	s.CheckRequest(t, "POST", "/residential-subusers/{hash}/give-traffic", map[string]string{"hash": created.Hash}, "", amountExample)
	resp = c.do(t, "POST", path+"/give-traffic", amountExample)
	s.CheckResponse(t, "POST", "/residential-subusers/{hash}/give-traffic", resp)
	if got := dialecttest.JSON[resource](t, resp); got.TrafficAvailable != 10 {
		t.Fatalf("give-traffic: %s", resp.Body)
	}
	resp = c.do(t, "POST", path+"/take-traffic", amountExample)
	s.CheckResponse(t, "POST", "/residential-subusers/{hash}/take-traffic", resp)
	if got := dialecttest.JSON[resource](t, resp); got.TrafficAvailable != 5 {
		t.Fatalf("take-traffic: %s", resp.Body)
	}

	resp = c.do(t, "GET", "/me", "")
	s.CheckResponse(t, "GET", "/me", resp)
	me := dialecttest.JSON[struct {
		AvailableTraffic    float64 `json:"available_traffic"`
		SubusersCount       int64   `json:"subusers_count"`
		ResidentialUserHash string  `json:"residential_user_hash"`
	}](t, resp)
	if me.AvailableTraffic != dialecttest.PoolGB-5 || me.SubusersCount != 1 {
		t.Fatalf("me: %s", resp.Body)
	}
	if again := c.do(t, "GET", "/me", ""); !strings.Contains(string(again.Body), me.ResidentialUserHash) {
		t.Fatalf("residential_user_hash is not stable: %s then %s", resp.Body, again.Body)
	}

	resp = c.do(t, "DELETE", path, "")
	s.CheckResponse(t, "DELETE", "/residential-subusers/{hash}", resp)
	if resp.Status != 204 || len(resp.Body) != 0 {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	// The 5 GB left went back to the pool.
	if me := c.do(t, "GET", "/me", ""); !strings.Contains(string(me.Body), `"available_traffic":100,`) {
		t.Fatalf("after delete: %s", me.Body)
	}
	dialecttest.CheckJSONError(t, c.do(t, "GET", path, ""), 404)
	env.CheckInvariant(t, env.Reseller.ID)
}

func TestLimitsAreMegabytes(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}
	resp := c.do(t, "POST", "/residential-subusers", `{"username":"limited","password":"secret1",
		"limits":{"daily_limit":5000,"monthly_limit":150000,"lifetime_limit":1000000}}`)
	if resp.Status != 201 {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	hash := dialecttest.JSON[resource](t, resp).Hash
	u, _ := env.Svc.SubUser(context.Background(), env.Admin, hash)
	want := subgate.Limits{Daily: 5000 * subgate.BytesPerMB, Monthly: 150000 * subgate.BytesPerMB, Lifetime: 1000000 * subgate.BytesPerMB}
	if u.Limits != want {
		t.Fatalf("limits %+v, want %+v", u.Limits, want)
	}
	// PATCH changes only the limits given; PHP's empty array changes none.
	for _, body := range []string{`{"limits":{"daily_limit":1}}`, `{"limits":[]}`} {
		if resp := c.do(t, "PATCH", "/residential-subusers/"+hash, body); resp.Status != 200 {
			t.Fatalf("%s: %d %s", body, resp.Status, resp.Body)
		}
	}
	u, _ = env.Svc.SubUser(context.Background(), env.Admin, hash)
	want.Daily = subgate.BytesPerMB
	if u.Limits != want {
		t.Fatalf("limits after patch %+v, want %+v", u.Limits, want)
	}
}

func TestUsageShowsInTrafficUsed(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}
	created := dialecttest.JSON[resource](t, c.do(t, "POST", "/residential-subusers", `{"username":"user1","password":"secret1","traffic":2}`))
	env.RecordUsage(t, created.ID, subgate.ProductResidential, 500_000_000, nowUTC())
	got := dialecttest.JSON[resource](t, c.do(t, "GET", "/residential-subusers/"+created.Hash, ""))
	if got.TrafficAvailable != 1.5 || got.TrafficUsed != 0.5 {
		t.Fatalf("after 0.5 GB used: %+v", got)
	}
	// Setting traffic to less than what is left takes the difference back.
	got = dialecttest.JSON[resource](t, c.do(t, "PUT", "/residential-subusers/"+created.Hash, `{"traffic":1}`))
	if got.TrafficAvailable != 1 || got.TrafficUsed != 0.5 {
		t.Fatalf("after traffic=1: %+v", got)
	}
	lines := env.CheckInvariant(t, env.Reseller.ID)
	if l := lines[subgate.ProductResidential]; l.Pool != dialecttest.PoolGB*subgate.BytesPerGB-1_500_000_000 || l.Used != 500_000_000 {
		t.Fatalf("res audit: %+v", l)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	s := spec(t)
	env := dialecttest.New(t)
	c := &client{env: env, token: env.Reseller.APIToken}
	for _, name := range []string{"alpha1", "alpha2", "alpha3", "beta1", "beta2"} {
		if resp := c.do(t, "POST", "/residential-subusers", `{"username":"`+name+`","password":"secret1"}`); resp.Status != 201 {
			t.Fatalf("create %s: %d %s", name, resp.Status, resp.Body)
		}
	}
	type page struct {
		Data []resource
		Meta struct {
			CurrentPage int  `json:"current_page"`
			From, To    *int `json:"-"`
			LastPage    int  `json:"last_page"`
			Total       int  `json:"total"`
		}
	}
	resp := c.do(t, "GET", "/residential-subusers?per_page=2&page=2", "")
	s.CheckResponse(t, "GET", "/residential-subusers", resp)
	p := dialecttest.JSON[page](t, resp)
	if len(p.Data) != 2 || p.Data[0].Username != "alpha3" || p.Meta.Total != 5 || p.Meta.LastPage != 3 || p.Meta.CurrentPage != 2 {
		t.Fatalf("page 2: %s", resp.Body)
	}
	if !strings.Contains(string(resp.Body), `"from":3`) || !strings.Contains(string(resp.Body), `"to":4`) {
		t.Fatalf("from/to: %s", resp.Body)
	}
	resp = c.do(t, "GET", "/residential-subusers?per_page=2&page=9", "")
	s.CheckResponse(t, "GET", "/residential-subusers", resp)
	if !strings.Contains(string(resp.Body), `"from":null`) || !strings.Contains(string(resp.Body), `"data":[]`) {
		t.Fatalf("past the end: %s", resp.Body)
	}
	resp = c.do(t, "GET", "/residential-subusers?search=beta", "")
	if p := dialecttest.JSON[page](t, resp); p.Meta.Total != 2 || len(p.Data) != 2 {
		t.Fatalf("search: %s", resp.Body)
	}
	// The default page size is IPRoyal's 20.
	if resp := c.do(t, "GET", "/residential-subusers", ""); !strings.Contains(string(resp.Body), `"per_page":20`) {
		t.Fatalf("default per_page: %s", resp.Body)
	}
}

// The handler never assumes a prefix: served at "/" on its own port,
// IPRoyal's paths match exactly.
func TestServedAtRoot(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	url := env.Serve(t, iproyal.New(env.Svc, nil))
	resp := env.Do(t, "GET", url+"/v1/me", "", "Authorization", "Bearer "+env.Reseller.APIToken)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), "residential_user_hash") {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
}

// Laravel accepts form posts as well as JSON, and so does this dialect.
func TestFormBodies(t *testing.T) {
	t.Parallel()
	env := dialecttest.New(t)
	resp := env.Do(t, "POST", env.URL(dialecttest.IPRoyal, "/v1/residential-subusers"),
		"username=formuser&password=secret1&traffic=1.5&limits[daily_limit]=5000",
		"Authorization", "Bearer "+env.Reseller.APIToken, "Content-Type", "application/x-www-form-urlencoded")
	got := dialecttest.JSON[resource](t, resp)
	if resp.Status != 201 || got.Username != "formuser" || got.TrafficAvailable != 1.5 {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	u, _ := env.Svc.SubUser(context.Background(), env.Admin, got.Hash)
	if u.Limits.Daily != 5000*subgate.BytesPerMB {
		t.Fatalf("daily limit %d", u.Limits.Daily)
	}
}
