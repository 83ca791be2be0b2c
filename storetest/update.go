package storetest

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func ptr[T any](v T) *T { return &v }

var updateTests = []test{
	// An allow-list edit made against a list that changed meanwhile is
	// refused and changes nothing; one made against the stored list applies.
	{"AllowIPsWas", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		u := e.subUser(r.ID, nil)
		a := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		b := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
		var none []netip.Prefix
		if _, err := e.s.UpdateSubUser(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{AllowIPs: &a, AllowIPsWas: &none}, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.UpdateSubUser(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{AllowIPs: &b, AllowIPsWas: &none}, time.Now())
		if subgate.ErrorCode(err) != subgate.ECONFLICT || subgate.ErrorField(err) != "allow_ips" {
			t.Fatalf("stale AllowIPsWas: %v, want a conflict on allow_ips", err)
		}
		if got := e.get(u.ID).AllowIPs; !slices.Equal(got, a) {
			t.Fatalf("allow_ips after a refused edit: %v, want %v", got, a)
		}
		if _, err := e.s.UpdateSubUser(e.ctx, subgate.Scope(r.ID), u.ID, subgate.SubUserUpdate{AllowIPs: &b, AllowIPsWas: &a}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := e.get(u.ID).AllowIPs; !slices.Equal(got, b) {
			t.Fatalf("allow_ips: %v, want %v", got, b)
		}
	}},
	{"EachField", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		u := e.subUser(r.ID, map[subgate.Product]int64{res: 30})
		exp := time.Now().Add(time.Hour).Truncate(time.Second)
		at := time.Now().Add(time.Minute).Truncate(time.Second)
		limits := subgate.Limits{Daily: 10, Monthly: 20, Lifetime: 30, UsageCap: 40, IPUsageCap: 50, MaxConcurrency: 60}
		nets := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		cases := []struct {
			field string
			upd   subgate.SubUserUpdate
			want  func(w *subgate.SubUser) // the change the update makes
		}{
			{"username", subgate.SubUserUpdate{Username: ptr("Renamed_1")}, func(w *subgate.SubUser) { w.Username = "Renamed_1" }},
			{"password", subgate.SubUserUpdate{Password: ptr("new-pass-1")}, func(w *subgate.SubUser) { w.Password = "new-pass-1" }},
			{"name", subgate.SubUserUpdate{Name: ptr("New Name")}, func(w *subgate.SubUser) { w.Name = "New Name" }},
			{"note", subgate.SubUserUpdate{Note: ptr("a note")}, func(w *subgate.SubUser) { w.Note = "a note" }},
			{"email", subgate.SubUserUpdate{Email: ptr("u@x.test")}, func(w *subgate.SubUser) { w.Email = "u@x.test" }},
			{"dashboard", subgate.SubUserUpdate{DashboardPasswordHash: ptr("$2a$new")}, func(w *subgate.SubUser) { w.DashboardPasswordHash = "$2a$new" }},
			{"private_pool", subgate.SubUserUpdate{PrivatePool: ptr(7.25)}, func(w *subgate.SubUser) { w.PrivatePool = 7.25 }},
			{"status", subgate.SubUserUpdate{Status: ptr(subgate.StatusDisabled)}, func(w *subgate.SubUser) { w.Status = subgate.StatusDisabled }},
			{"blocked", subgate.SubUserUpdate{Status: ptr(subgate.StatusBlocked)}, func(w *subgate.SubUser) { w.Status = subgate.StatusBlocked }},
			{"limits", subgate.SubUserUpdate{Limits: &limits}, func(w *subgate.SubUser) { w.Limits = limits }},
			{"expires", subgate.SubUserUpdate{ExpiresAt: ptr(&exp)}, func(w *subgate.SubUser) { w.ExpiresAt = &exp }},
			{"expires cleared", subgate.SubUserUpdate{ExpiresAt: ptr[*time.Time](nil)}, func(w *subgate.SubUser) { w.ExpiresAt = nil }},
			{"allow_ips", subgate.SubUserUpdate{AllowIPs: &nets}, func(w *subgate.SubUser) { w.AllowIPs = nets }},
			{"allow_ips cleared", subgate.SubUserUpdate{AllowIPs: &[]netip.Prefix{}}, func(w *subgate.SubUser) { w.AllowIPs = nil }},
		}
		for _, c := range cases {
			before := e.get(u.ID)
			got, err := e.s.UpdateSubUser(e.ctx, subgate.Scope(r.ID), u.ID, c.upd, at)
			e.must(err)
			if got.Seq <= before.Seq {
				t.Fatalf("update %s: Seq %d not above %d", c.field, got.Seq, before.Seq)
			}
			if !got.UpdatedAt.Equal(at) {
				t.Fatalf("update %s: UpdatedAt = %v, want %v", c.field, got.UpdatedAt, at)
			}
			want := *before
			c.want(&want)
			want.Seq, want.UpdatedAt = got.Seq, at
			sameSubUser(t, got, &want)
			sameSubUser(t, e.get(u.ID), &want)
		}
	}},
	{"LeavesOtherFieldsAlone", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		u := &subgate.SubUser{ResellerID: r.ID, Hash: subgate.NewHash(), Username: name("keep"), Password: "keep-pw",
			Name: "N", Note: "O", Email: "k@x.test", Status: subgate.StatusActive, Limits: subgate.Limits{Daily: 9}}
		e.must(e.s.CreateSubUser(e.ctx, u, map[subgate.Product]int64{res: 40}, ""))
		got, err := e.s.UpdateSubUser(e.ctx, 0, u.ID, subgate.SubUserUpdate{Note: ptr("changed")}, time.Now())
		e.must(err)
		want := *u
		want.Note, want.Seq, want.UpdatedAt = "changed", got.Seq, got.UpdatedAt
		sameSubUser(t, got, &want)
		sameSubUser(t, e.get(u.ID), &want)
	}},
	{"UsernameConflict", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		a := e.subUser(r.ID, nil)
		b := e.subUser(r.ID, nil)
		_, err := e.s.UpdateSubUser(e.ctx, 0, b.ID, subgate.SubUserUpdate{Username: ptr(a.Username)}, time.Now())
		wantCode(t, err, subgate.ECONFLICT)
		_, err = e.s.UpdateSubUser(e.ctx, 0, b.ID, subgate.SubUserUpdate{Username: ptr(upper(a.Username))}, time.Now())
		wantCode(t, err, subgate.ECONFLICT)
		// Changing the case of one's own name is not a conflict.
		got, err := e.s.UpdateSubUser(e.ctx, 0, b.ID, subgate.SubUserUpdate{Username: ptr(upper(b.Username))}, time.Now())
		e.must(err)
		if got.Username != upper(b.Username) {
			t.Fatalf("username = %q", got.Username)
		}
		if e.get(b.ID).Username != upper(b.Username) {
			t.Fatal("case change not stored")
		}
	}},
	{"DeletedIsNotFound", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := e.subUser(r.ID, nil)
		e.must(e.s.DeleteSubUser(e.ctx, 0, u.ID, time.Now()))
		_, err := e.s.UpdateSubUser(e.ctx, 0, u.ID, subgate.SubUserUpdate{Note: ptr("x")}, time.Now())
		wantCode(t, err, subgate.ENOTFOUND)
	}},
	{"ServiceRules", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := e.subUser(r.ID, nil)
		p := subgate.Principal{ResellerID: r.ID}
		_, err := e.svc.UpdateSubUser(e.ctx, p, u.Hash, subgate.SubUserUpdate{Username: ptr("bad-name")})
		wantCode(t, err, subgate.EINVALID)
		_, err = e.svc.SetStatus(e.ctx, admin, u.Hash, subgate.StatusBlocked)
		e.must(err) // the operator blocks
		_, err = e.svc.SetStatus(e.ctx, p, u.Hash, subgate.StatusActive)
		wantCode(t, err, subgate.EINVALID)
		if got := e.get(u.ID); got.Status != subgate.StatusBlocked {
			t.Fatalf("a reseller unblocked its sub-user: %s", got.Status)
		}
		got, err := e.svc.SetStatus(e.ctx, admin, u.Hash, subgate.StatusActive)
		e.must(err)
		if got.Status != subgate.StatusActive {
			t.Fatalf("admin could not unblock: %s", got.Status)
		}
	}},
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
