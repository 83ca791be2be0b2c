package storetest

import (
	"errors"
	"testing"

	"github.com/subgate/subgate"
)

// serviceRuleTests check rules the Service enforces on top of any store.
var serviceRuleTests = []test{
	{"GiveAndTakeRefuseNonPositiveBytes", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{subgate.ProductResidential: 1000})
		u := e.subUser(r.ID, map[subgate.Product]int64{subgate.ProductResidential: 100})
		p := subgate.Principal{ResellerID: r.ID}
		for _, b := range []int64{0, -50} {
			_, err := e.svc.Take(e.ctx, p, u.Hash, subgate.ProductResidential, b, "")
			wantField(t, err, "bytes")
			_, err = e.svc.Give(e.ctx, p, u.Hash, subgate.ProductResidential, b, "")
			wantField(t, err, "bytes")
		}
		if got := e.get(u.ID).Traffic[subgate.ProductResidential].Available; got != 100 {
			t.Fatalf("available = %d after refused transfers, want 100", got)
		}
		if got := e.pool(r.ID, subgate.ProductResidential); got != 900 {
			t.Fatalf("pool = %d after refused transfers, want 900", got)
		}
	}},
	{"AdminBlocksResellerCannot", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := e.subUser(r.ID, nil)
		p := subgate.Principal{ResellerID: r.ID}
		_, err := e.svc.SetStatus(e.ctx, p, u.Hash, subgate.StatusBlocked)
		wantField(t, err, "status")
		_, err = e.svc.CreateSubUser(e.ctx, p, 0, subgate.SubUserCreate{Username: name("user"), Status: subgate.StatusBlocked}, "")
		wantField(t, err, "status")
		got, err := e.svc.SetStatus(e.ctx, admin, u.Hash, subgate.StatusBlocked)
		e.must(err)
		if got.Status != subgate.StatusBlocked || e.get(u.ID).Status != subgate.StatusBlocked {
			t.Fatalf("admin could not block: %s", got.Status)
		}
		// Echoing the current blocked status is accepted and changes only
		// the other fields.
		got, err = e.svc.UpdateSubUser(e.ctx, p, u.Hash, subgate.SubUserUpdate{Status: ptr(subgate.StatusBlocked), Note: ptr("kept")})
		e.must(err)
		if got.Status != subgate.StatusBlocked || got.Note != "kept" {
			t.Fatalf("echo blocked: status %s note %q", got.Status, got.Note)
		}
		for _, st := range []subgate.Status{subgate.StatusActive, subgate.StatusDisabled} {
			_, err = e.svc.SetStatus(e.ctx, p, u.Hash, st)
			wantField(t, err, "status")
		}
		if got := e.get(u.ID).Status; got != subgate.StatusBlocked {
			t.Fatalf("a reseller cleared blocked: %s", got)
		}
	}},
	{"RoutesAreTheAdmins", func(t *testing.T, e *env) {
		wantCode(t, e.svc.ManageRoutes(subgate.Principal{ResellerID: 1}), subgate.EFORBIDDEN)
		e.must(e.svc.ManageRoutes(admin))
	}},
	{"StaticIPsShowAResellerNoAccount", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		u := e.subUser(r.ID, nil)
		p := subgate.Principal{ResellerID: r.ID}
		up := "socks5://127.0.0.1:1080:acct:s3cret"
		e.must(e.svc.AddStaticIPs(e.ctx, admin, []*subgate.StaticIP{{Upstream: up, Country: "us"}}))
		ips, _, err := e.svc.AllocateStaticIPs(e.ctx, p, u.Hash, subgate.StaticIPAllocation{Country: "us", Count: 1}, 0, "")
		e.must(err)
		mine, err := e.svc.SubUserStaticIPs(e.ctx, p, u.Hash)
		e.must(err)
		all, err := e.svc.StaticIPs(e.ctx, admin, subgate.StaticIPFilter{})
		e.must(err)
		for _, got := range [][]*subgate.StaticIP{ips, mine} {
			if len(got) != 1 || got[0].Upstream != "socks5://127.0.0.1:1080" {
				t.Fatalf("reseller sees %+v", got)
			}
		}
		if len(all) != 1 || all[0].Upstream != "socks5://127.0.0.1:1080:acct:"+subgate.RedactedPassword {
			t.Fatalf("admin sees %+v", all)
		}
	}},
}

// wantField fails unless err is EINVALID on field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	wantCode(t, err, subgate.EINVALID)
	var de *subgate.Error
	if errors.As(err, &de); de.Field != field {
		t.Fatalf("error field = %q (%v), want %q", de.Field, err, field)
	}
}
