package storetest

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

var subUserTests = []test{
	{"CreateRoundTrip", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 10_000, dc: 5_000})
		exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
		u := &subgate.SubUser{
			ResellerID: r.ID, Hash: subgate.NewHash(), Username: "Alice_1", Password: "s3cret-PW",
			Name: "Alice", Note: "first customer", Email: "alice@x.test", DashboardPasswordHash: "$2a$dash",
			PrivatePool: 2.5, Status: subgate.StatusDisabled,
			Limits:    subgate.Limits{Daily: 1, Monthly: 2, Lifetime: 3, UsageCap: 4, IPUsageCap: 5, MaxConcurrency: 6},
			ExpiresAt: &exp,
			AllowIPs:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		}
		e.must(e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 3000, dc: 1000}, ""))
		if u.ID <= 0 || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() || u.Seq <= 0 {
			t.Fatalf("CreateSubUser did not fill ID, CreatedAt, UpdatedAt, Seq: %+v", u)
		}
		if u.Traffic[res] != (subgate.Traffic{Available: 3000}) || u.Traffic[dc] != (subgate.Traffic{Available: 1000}) {
			t.Fatalf("CreateSubUser filled Traffic = %+v", u.Traffic)
		}
		for _, ref := range []string{fmt.Sprint(u.ID), u.Hash} {
			got, err := e.s.SubUser(e.ctx, subgate.Scope(r.ID), ref)
			e.must(err)
			sameSubUser(t, got, u)
		}
		got, err := e.s.SubUserByUsername(e.ctx, "Alice_1")
		e.must(err)
		sameSubUser(t, got, u)
		if e.pool(r.ID, res) != 7000 || e.pool(r.ID, dc) != 4000 {
			t.Fatalf("pools after initial gives = %d, %d", e.pool(r.ID, res), e.pool(r.ID, dc))
		}
		gives := e.ledger(subgate.LedgerFilter{SubUserID: u.ID, Kind: subgate.LedgerGive})
		if len(gives) != 2 {
			t.Fatalf("initial gives in ledger: %s", fmtLedger(gives))
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"PasswordSurvivesSealing", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: name("pw"), Password: "Plain-Text-PW-42", Status: subgate.StatusActive}
		e.must(e.s.CreateSubUser(e.ctx, u, nil, ""))
		if got := e.get(u.ID); got.Password != "Plain-Text-PW-42" {
			t.Fatalf("password read back as %q", got.Password)
		}
		pw := "Changed-PW-43"
		_, err := e.s.UpdateSubUser(e.ctx, 0, u.ID, subgate.SubUserUpdate{Password: &pw}, time.Now())
		e.must(err)
		if got, _ := e.s.SubUserByUsername(e.ctx, u.Username); got.Password != pw {
			t.Fatalf("changed password read back as %q", got.Password)
		}
	}},
	{"PoolShortCreatesNothing", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000, dc: 10})
		before := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID)})
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: "shorty", Password: "pw12345", Status: subgate.StatusActive}
		// res fits, dc does not: the res give must be rolled back too.
		err := e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 500, dc: 11}, "")
		wantCode(t, err, subgate.EINSUFFICIENT)
		_, err = e.s.SubUserByUsername(e.ctx, "shorty")
		wantCode(t, err, subgate.ENOTFOUND)
		if e.pool(r.ID, res) != 1000 || e.pool(r.ID, dc) != 10 {
			t.Fatal("a failed create changed the pools")
		}
		if n, _ := e.s.CountSubUsers(e.ctx, r.ID); n != 0 {
			t.Fatalf("count = %d after a failed create", n)
		}
		if after := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID)}); len(after) != len(before) {
			t.Fatalf("a failed create wrote ledger entries: %s", fmtLedger(after))
		}
		page, err := e.s.SubUsers(e.ctx, subgate.SubUserFilter{})
		e.must(err)
		if len(page.Items) != 0 {
			t.Fatalf("a failed create is listed: %+v", page.Items[0])
		}
		// The name is still free.
		u.ID = 0
		e.must(e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 500, dc: 10}, ""))
		CheckInvariant(t, e.s, r.ID)
	}},
	{"UsernameUniqueCaseInsensitive", func(t *testing.T, e *env) {
		a := e.reseller(nil)
		b := e.reseller(nil)
		create := func(resellerID int64, username string) error {
			return e.s.CreateSubUser(e.ctx, &subgate.SubUser{ResellerID: resellerID, Hash: subgate.NewHash(),
				Username: username, Password: "pw12345", Status: subgate.StatusActive}, nil, "")
		}
		e.must(create(a.ID, "Bob"))
		wantCode(t, create(a.ID, "Bob"), subgate.ECONFLICT)
		wantCode(t, create(a.ID, "bOB"), subgate.ECONFLICT)
		wantCode(t, create(b.ID, "BOB"), subgate.ECONFLICT) // usernames are global: the gateway logs in by them
		got, err := e.s.SubUserByUsername(e.ctx, "Bob")
		e.must(err)
		_, err = e.s.SubUserByUsername(e.ctx, "bob")
		wantCode(t, err, subgate.ENOTFOUND)
		e.must(e.s.DeleteSubUser(e.ctx, 0, got.ID, time.Now()))
		_, err = e.s.SubUserByUsername(e.ctx, "Bob")
		wantCode(t, err, subgate.ENOTFOUND)
		e.must(create(b.ID, "bob")) // free again once the holder is deleted
		again, err := e.s.SubUserByUsername(e.ctx, "bob")
		e.must(err)
		if again.ResellerID != b.ID || again.ID == got.ID {
			t.Fatalf("reused name found %+v", again)
		}
	}},
	{"GetMissingAndDeleted", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := e.subUser(r.ID, nil)
		for _, ref := range []string{"999999", subgate.NewHash(), "not-a-ref", "0", "-1"} {
			_, err := e.s.SubUser(e.ctx, 0, ref)
			wantCode(t, err, subgate.ENOTFOUND)
		}
		e.must(e.s.DeleteSubUser(e.ctx, 0, u.ID, time.Now()))
		for _, ref := range []string{fmt.Sprint(u.ID), u.Hash} {
			_, err := e.s.SubUser(e.ctx, 0, ref)
			wantCode(t, err, subgate.ENOTFOUND)
		}
	}},
	{"TenantIsolation", func(t *testing.T, e *env) {
		a := e.reseller(map[subgate.Product]int64{res: 1000})
		b := e.reseller(map[subgate.Product]int64{res: 1000})
		u := e.subUser(a.ID, map[subgate.Product]int64{res: 100})
		other := subgate.Scope(b.ID)
		for _, ref := range []string{fmt.Sprint(u.ID), u.Hash} {
			_, err := e.s.SubUser(e.ctx, other, ref)
			wantCode(t, err, subgate.ENOTFOUND)
		}
		note := "hijacked"
		_, err := e.s.UpdateSubUser(e.ctx, other, u.ID, subgate.SubUserUpdate{Note: &note}, time.Now())
		wantCode(t, err, subgate.ENOTFOUND)
		wantCode(t, e.s.DeleteSubUser(e.ctx, other, u.ID, time.Now()), subgate.ENOTFOUND)
		for _, bytes := range []int64{50, -50} {
			_, err = e.s.Transfer(e.ctx, subgate.Transfer{Scope: other, SubUserID: u.ID, Product: res, Bytes: bytes})
			wantCode(t, err, subgate.ENOTFOUND)
		}
		page, err := e.s.SubUsers(e.ctx, subgate.SubUserFilter{Scope: other, WithTotal: true})
		e.must(err)
		if len(page.Items) != 0 || page.Total != 0 {
			t.Fatalf("another reseller lists %d (total %d)", len(page.Items), page.Total)
		}
		if l := e.ledger(subgate.LedgerFilter{Scope: other}); len(l) != 1 {
			t.Fatalf("another reseller's ledger shows %s", fmtLedger(l))
		}
		got := e.get(u.ID)
		if got.Note != "" || got.Traffic[res].Available != 100 {
			t.Fatalf("another reseller changed the sub-user: %+v", got)
		}
		if e.pool(a.ID, res) != 900 || e.pool(b.ID, res) != 1000 {
			t.Fatal("pools moved")
		}
		// The owner and the admin see it.
		_, err = e.s.SubUser(e.ctx, subgate.Scope(a.ID), u.Hash)
		e.must(err)
		_, err = e.s.UpdateSubUser(e.ctx, 0, u.ID, subgate.SubUserUpdate{Note: &note}, time.Now())
		e.must(err)
	}},
	{"ServiceValidatesCreate", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		p := subgate.Principal{ResellerID: r.ID}
		bad := []subgate.SubUserCreate{
			{Username: "a-b"},
			{Username: "ok_name", Password: "has space"},
			{Username: "ok_name", Limits: subgate.Limits{Daily: -1}},
			{Username: "ok_name", Traffic: map[subgate.Product]int64{"gold": 1}},
			{Username: "ok_name", Status: subgate.StatusBlocked},
		}
		for _, c := range bad {
			_, err := e.svc.CreateSubUser(e.ctx, p, 0, c, "")
			wantCode(t, err, subgate.EINVALID)
			if subgate.ErrorField(err) == "" {
				t.Fatalf("error %v names no field", err)
			}
		}
		if n, _ := e.s.CountSubUsers(e.ctx, r.ID); n != 0 {
			t.Fatalf("invalid input created %d sub-users", n)
		}
		u, err := e.svc.CreateSubUser(e.ctx, p, 0, subgate.SubUserCreate{Username: "ok_name", Traffic: map[subgate.Product]int64{res: 10}}, "")
		e.must(err)
		if u.Password == "" || e.get(u.ID).Password != u.Password {
			t.Fatal("generated password was not stored")
		}
	}},
}

// sameSubUser compares what a store must round-trip.
func sameSubUser(t testing.TB, got, want *subgate.SubUser) {
	t.Helper()
	var diffs []string
	check := func(field string, g, w any) {
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID, want.ID)
	check("Hash", got.Hash, want.Hash)
	check("ResellerID", got.ResellerID, want.ResellerID)
	check("Username", got.Username, want.Username)
	check("Password", got.Password, want.Password)
	check("Name", got.Name, want.Name)
	check("Note", got.Note, want.Note)
	check("Email", got.Email, want.Email)
	check("DashboardPasswordHash", got.DashboardPasswordHash, want.DashboardPasswordHash)
	check("PrivatePool", got.PrivatePool, want.PrivatePool)
	check("Status", got.Status, want.Status)
	check("Limits", got.Limits, want.Limits)
	check("AllowIPs", fmt.Sprint(got.AllowIPs), fmt.Sprint(want.AllowIPs))
	check("Seq", got.Seq, want.Seq)
	for _, p := range subgate.Products {
		check("Traffic["+string(p)+"]", got.Traffic[p], want.Traffic[p])
	}
	if (got.ExpiresAt == nil) != (want.ExpiresAt == nil) || (got.ExpiresAt != nil && !got.ExpiresAt.Equal(*want.ExpiresAt)) {
		diffs = append(diffs, fmt.Sprintf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt))
	}
	if !closeTime(got.CreatedAt, want.CreatedAt) || !closeTime(got.UpdatedAt, want.UpdatedAt) {
		diffs = append(diffs, fmt.Sprintf("times = %v/%v, want %v/%v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt))
	}
	if len(diffs) > 0 {
		t.Fatalf("sub-user %d differs:\n%s", want.ID, strings.Join(diffs, "\n"))
	}
}

// closeTime allows for stores that keep microseconds only.
func closeTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}
