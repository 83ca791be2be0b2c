package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/subgate/subgate"
)

// Metered usage shows on the overview (daily) and the sub-user's page
// (hourly and daily), in the last bar, with the exact bytes on hover.
func TestUsageCharts(t *testing.T) {
	e := newEnv(t)
	r := e.reseller("Acme", "ops@acme.test", "right-password", 10*subgate.BytesPerGB)
	u := e.subUser(r, subgate.SubUserCreate{Username: "alice", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	e.subUser(r, subgate.SubUserCreate{Username: "idle", Traffic: map[subgate.Product]int64{"res": subgate.BytesPerGB}})
	// The pages' clock is pinned, so an hour or day starting during the
	// test cannot move the usage out of the last bar.
	now := time.Now()
	e.svc.Now = func() time.Time { return now }
	err := e.store.FlushUsage(context.Background(), subgate.UsageBatch{
		ID: subgate.NewHash(), Node: "test", Now: now, Windows: e.svc.Windows, LeaseTTL: time.Minute,
		Items: []subgate.UsageItem{{SubUserID: u.ID, Product: "res", Hour: subgate.HourOf(now), Bytes: 300_000_000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("ops@acme.test", "right-password")
	path := "/dashboard/subusers/" + strconv.FormatInt(u.ID, 10)
	for _, p := range []string{"/dashboard/", path, path + "?range=month"} {
		a := b.get(p)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d", p, a.status)
		}
		svg := find(a.doc, tagged("svg"))
		bars := findAll(svg, tagged("g"))
		if len(bars) == 0 {
			t.Fatalf("%s: no bars", p)
		}
		last := text(find(bars[len(bars)-1], tagged("title")))
		if !strings.HasSuffix(last, ": 0.30 GB (300,000,000 bytes)") {
			t.Errorf("%s: last bar %q", p, last)
		}
		for _, g := range bars[:len(bars)-1] {
			if h := attr(find(g, withClass("rect", "bar")), "height"); h != "0" {
				t.Errorf("%s: an earlier bar has height %s", p, h)
			}
		}
		if c := text(find(a.doc, func(n *html.Node) bool { return n.Data == "figcaption" })); !strings.HasPrefix(c, "Total 0.30 GB") {
			t.Errorf("%s: caption %q", p, c)
		}
	}
	top := findAll(find(b.get("/dashboard/").doc, withAttr("table", "id", "top")), tagged("tr"))
	if len(top) != 2 || text(find(top[1], tagged("a"))) != "alice" || attr(findAll(top[1], tagged("td"))[2], "title") != "300,000,000 bytes" {
		t.Errorf("heaviest users: %d rows", len(top))
	}
}
