package subgate_test

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

func TestGBToBytes(t *testing.T) {
	for _, tc := range []struct {
		gb   float64
		want int64
		ok   bool
	}{
		{0, 0, true},
		{1, 1_000_000_000, true},
		{0.25, 250_000_000, true},
		{10.0000000004, 10_000_000_000, true}, // rounds to the byte
		{-1, 0, false},
		{math.NaN(), 0, false},
		{math.Inf(1), 0, false},
		{2e9, 0, false}, // 2 EB is past MaxBytes
	} {
		got, err := subgate.GBToBytes("traffic", tc.gb)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("GBToBytes(%v) = %d, %v; want %d ok=%v", tc.gb, got, err, tc.want, tc.ok)
		}
		if err != nil && subgate.ErrorField(err) != "traffic" {
			t.Errorf("GBToBytes(%v) error field = %q", tc.gb, subgate.ErrorField(err))
		}
	}
	if mb, _ := subgate.MBToBytes("limit", 5000); mb != 5_000_000_000 {
		t.Errorf("MBToBytes(5000) = %d", mb)
	}
}

func TestErrorHelpers(t *testing.T) {
	err := subgate.Invalidf("username", "is too short")
	if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "username" ||
		subgate.ErrorMessage(err) != "username is too short" {
		t.Fatalf("unexpected error parts: %v", err)
	}
	if subgate.ErrorCode(nil) != "" || subgate.ErrorCode(errPlain{}) != subgate.EINTERNAL {
		t.Fatal("ErrorCode of nil or foreign error is wrong")
	}
	if subgate.ErrorMessage(errPlain{}) != "internal error" {
		t.Fatal("foreign error messages must not leak")
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "db password is hunter2" }

func TestValidateUsername(t *testing.T) {
	for s, ok := range map[string]bool{
		"abc": true, "user_1": true, "ab": false, "has-dash": false, "spa ce": false,
		"ünï": false, string(make([]byte, 65)): false,
	} {
		if err := subgate.ValidateUsername("username", s); (err == nil) != ok {
			t.Errorf("ValidateUsername(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func TestSubUserCreateValidate(t *testing.T) {
	now := time.Now()
	good := subgate.SubUserCreate{Username: "alice", Password: "secret1", Traffic: map[subgate.Product]int64{"res": 10}}
	if err := good.Validate(now); err != nil || good.Status != subgate.StatusActive {
		t.Fatalf("valid create rejected: %v (status %q)", err, good.Status)
	}
	for field, c := range map[string]subgate.SubUserCreate{
		"username":               {Username: "a"},
		"password":               {Username: "alice", Password: "has_country-us"},
		"email":                  {Username: "alice", Email: "not-an-email"},
		"status":                 {Username: "alice", Status: "frozen"}, // blocked is valid; who may set it is the service's rule
		"limits.daily":           {Username: "alice", Limits: subgate.Limits{Daily: -1}},
		"traffic":                {Username: "alice", Traffic: map[subgate.Product]int64{"xx": 1}},
		"traffic.res":            {Username: "alice", Traffic: map[subgate.Product]int64{"res": -5}},
		"allow_ips[0]":           {Username: "alice", AllowIPs: []netip.Prefix{{}}},
		"dashboard_password":     {Username: "alice", DashboardPassword: "short"},
		"limits.max_concurrency": {Username: "alice", Limits: subgate.Limits{MaxConcurrency: -2}},
	} {
		err := c.Validate(now)
		if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != field {
			t.Errorf("%s: got %v (field %q)", field, err, subgate.ErrorField(err))
		}
	}
}

func TestWindows(t *testing.T) {
	w := subgate.Windows{}
	at := time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC)
	if w.DayKey(at) != 20260331 || w.MonthKey(at) != 202603 {
		t.Fatalf("UTC keys: %d %d", w.DayKey(at), w.MonthKey(at))
	}
	tz := subgate.Windows{Location: time.FixedZone("plus2", 2*3600)}
	if tz.DayKey(at) != 20260401 || tz.MonthKey(at) != 202604 {
		t.Fatalf("+02:00 keys: %d %d", tz.DayKey(at), tz.MonthKey(at))
	}
	usage := subgate.WindowUsage{DayKey: 20260331, Day: 50, MonthKey: 202603, Month: 70, IPsUsed: 3}
	if got := usage.At(w, at); got.Day != 50 || got.Month != 70 || got.IPsUsed != 3 {
		t.Fatalf("same windows changed counters: %+v", got)
	}
	if got := usage.At(w, at.Add(time.Hour)); got.Day != 0 || got.Month != 0 || got.IPsUsed != 0 || got.DayKey != 20260401 {
		t.Fatalf("new day and month must read zero: %+v", got)
	}
	if got := usage.At(w, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)); got.Day != 0 || got.Month != 70 {
		t.Fatalf("new day in the same month: %+v", got)
	}
}

func subUser() *subgate.SubUser {
	return &subgate.SubUser{
		Status: subgate.StatusActive,
		Traffic: map[subgate.Product]subgate.Traffic{
			"res": {Available: 1000, Used: 100},
			"*":   {Available: 500},
		},
	}
}

func TestBudgetAndCheck(t *testing.T) {
	now := time.Now()
	u := subUser()
	if b := u.Budget("res", subgate.WindowUsage{}); b != 1500 {
		t.Fatalf("res budget includes *: got %d", b)
	}
	if b := u.Budget("dc", subgate.WindowUsage{}); b != 500 {
		t.Fatalf("dc budget is * only: got %d", b)
	}
	u.Limits.Daily = 300
	if b := u.Budget("res", subgate.WindowUsage{Day: 250}); b != 50 {
		t.Fatalf("daily limit bounds budget: got %d", b)
	}
	if r := u.Check("res", now, subgate.WindowUsage{Day: 300}); r == nil || r.Code != subgate.ReasonLimitDaily {
		t.Fatalf("daily limit reached: %v", r)
	}
	u.Limits = subgate.Limits{UsageCap: 100}
	if r := u.Check("res", now, subgate.WindowUsage{}); r == nil || r.Code != subgate.ReasonUsageCap {
		t.Fatalf("usage cap: %v", r)
	}
	u.Limits = subgate.Limits{}
	if r := u.Check("mob", now, subgate.WindowUsage{}); r != nil {
		t.Fatalf("mob has * balance: %v", r)
	}
	u.Traffic["*"] = subgate.Traffic{}
	if r := u.Check("mob", now, subgate.WindowUsage{}); r == nil || r.Code != subgate.ReasonTrafficExhausted {
		t.Fatalf("no mob balance: %v", r)
	}
	past := now.Add(-time.Second)
	u.ExpiresAt = &past
	if r := u.Check("res", now, subgate.WindowUsage{}); r == nil || r.Code != subgate.ReasonExpired {
		t.Fatalf("expired: %v", r)
	}
	u.ExpiresAt, u.Status = nil, subgate.StatusDisabled
	if r := u.Check("res", now, subgate.WindowUsage{}); r == nil || r.Code != subgate.ReasonDisabled {
		t.Fatalf("disabled: %v", r)
	}
}

func TestLeaseGrant(t *testing.T) {
	now := time.Now()
	u := subUser()
	if g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{}, 0, 0, 400, now); g != 400 {
		t.Fatalf("plenty left: %d", g)
	}
	if g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{}, 900, 900, 400, now); g != 100 {
		t.Fatalf("other leases on the balance count: %d", g)
	}
	if g := subgate.LeaseGrant(u, "*", subgate.WindowUsage{}, 0, 0, 900, now); g != 500 {
		t.Fatalf("a lease draws from its own balance only: %d", g)
	}
	u.Limits.Lifetime = 350 // 100 used already
	if g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{}, 0, 200, 400, now); g != 50 {
		t.Fatalf("lifetime counts used and every live lease: %d", g)
	}
	u.Limits = subgate.Limits{Monthly: 1000}
	if g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{Month: 1200}, 0, 0, 400, now); g != 0 {
		t.Fatalf("over a limit grants nothing, never negative: %d", g)
	}
	u.Limits, u.Status = subgate.Limits{}, subgate.StatusBlocked
	if g := subgate.LeaseGrant(u, "res", subgate.WindowUsage{}, 0, 0, 400, now); g != 0 {
		t.Fatalf("inactive sub-user: %d", g)
	}
}

func TestSecrets(t *testing.T) {
	a, b := subgate.NewSecret("sgr_"), subgate.NewSecret("sgr_")
	if a == b || len(a) < 40 || subgate.SecretPrefix(a) != a[:8] {
		t.Fatalf("secrets: %q %q prefix %q", a, b, subgate.SecretPrefix(a))
	}
	if string(subgate.HashSecret(a)) == string(subgate.HashSecret(b)) {
		t.Fatal("different secrets hash alike")
	}
	pw := subgate.NewProxyPassword()
	if err := subgate.ValidateProxyPassword("password", pw); err != nil {
		t.Fatalf("generated password %q invalid: %v", pw, err)
	}
	h, err := subgate.HashPassword("correct horse")
	if err != nil || !subgate.CheckPassword(h, "correct horse") || subgate.CheckPassword(h, "wrong") {
		t.Fatal("bcrypt round trip failed")
	}
	if subgate.CheckPassword("", "") {
		t.Fatal("an empty hash must never match")
	}
}

func TestPrivatePoolIsAWholeNumberInRange(t *testing.T) {
	for v, ok := range map[float64]bool{
		0: true, 1: true, 2147483647: true,
		-1: false, 1e308: false, 2147483648: false, 0.5: false, math.NaN(): false, math.Inf(1): false,
	} {
		c := subgate.SubUserCreate{Username: "alice", PrivatePool: v}
		u := subgate.SubUserUpdate{PrivatePool: &v}
		for _, err := range []error{c.Validate(time.Now()), u.Validate()} {
			if ok && err != nil {
				t.Errorf("private_pool %v refused: %v", v, err)
			}
			if !ok && (subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "private_pool") {
				t.Errorf("private_pool %v: got %v, want invalid private_pool", v, err)
			}
		}
	}
}
