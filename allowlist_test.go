package subgate_test

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/subgate/subgate"
)

func TestParseAllowIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7": "203.0.113.7/32", "198.51.100.9/24": "198.51.100.0/24",
		"2001:db8::1": "2001:db8::1/128", "::ffff:203.0.113.7": "203.0.113.7/32",
	} {
		if got, err := subgate.ParseAllowIP("ip", in); err != nil || got.String() != want {
			t.Errorf("ParseAllowIP(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := subgate.ParseAllowIP("ip", "example.com"); subgate.ErrorCode(err) != subgate.EINVALID {
		t.Errorf("a name: %v", err)
	}
}

// One entry at a time: a duplicate is a conflict, a too broad one invalid,
// removing one not there not found; none of them changes the list.
func TestAllowIPEntries(t *testing.T) {
	ctx := context.Background()
	svc, p, ref := allowListUser(t)
	var u *subgate.SubUser
	var err error
	a, b := netip.MustParsePrefix("203.0.113.7/32"), netip.MustParsePrefix("198.51.100.0/24")
	for _, prefix := range []netip.Prefix{a, b} {
		if u, err = svc.AddAllowIP(ctx, p, ref, "ip", prefix); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix netip.Prefix
		code   string
	}{{a, subgate.ECONFLICT}, {netip.MustParsePrefix("10.0.0.0/8"), subgate.EINVALID}} {
		_, err := svc.AddAllowIP(ctx, p, ref, "ip", tc.prefix)
		if e, ok := err.(*subgate.Error); !ok || e.Code != tc.code || e.Field != "ip" {
			t.Errorf("add %s: %v, want %s on ip", tc.prefix, err, tc.code)
		}
	}
	if _, err := svc.RemoveAllowIP(ctx, p, ref, netip.MustParsePrefix("192.0.2.1/32")); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Errorf("remove of an entry not there: %v", err)
	}
	if _, err := svc.AddAllowIP(ctx, subgate.Principal{ResellerID: p.ResellerID + 1}, ref, "ip", netip.MustParsePrefix("192.0.2.1/32")); subgate.ErrorCode(err) != subgate.ENOTFOUND {
		t.Errorf("another reseller's sub-user: %v", err)
	}
	if got, _ := svc.SubUser(ctx, p, ref); !slices.Equal(got.AllowIPs, []netip.Prefix{a, b}) {
		t.Fatalf("after refusals: %v", got.AllowIPs)
	}
	if u, err = svc.RemoveAllowIP(ctx, p, ref, a); err != nil || !slices.Equal(u.AllowIPs, []netip.Prefix{b}) {
		t.Fatalf("remove: %v %v", u.AllowIPs, err)
	}
}

// Entries added at the same time all stay: each add redoes itself when
// another committed between its read and its write.
func TestAllowIPEntriesAddedAtOnce(t *testing.T) {
	ctx := context.Background()
	svc, p, ref := allowListUser(t)
	var u *subgate.SubUser
	var err error
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.AddAllowIP(ctx, p, ref, "ip", netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 32))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if u, err = svc.SubUser(ctx, p, ref); err != nil || len(u.AllowIPs) != n {
		t.Fatalf("after %d adds at once: %v, %v", n, u.AllowIPs, err)
	}
}

// allowListUser makes a sub-user with an empty allow-list and returns the
// service, its reseller and its ref.
func allowListUser(t *testing.T) (*subgate.Service, subgate.Principal, string) {
	t.Helper()
	svc, r := newDashboardService(t)
	p := subgate.Principal{ResellerID: r.ID}
	u, err := svc.CreateSubUser(context.Background(), p, 0, subgate.SubUserCreate{Username: "alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return svc, p, strconv.FormatInt(u.ID, 10)
}
