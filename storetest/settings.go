package storetest

import (
	"testing"
	"time"

	"github.com/subgate/subgate"
	"golang.org/x/crypto/bcrypt"
)

var settingsTests = []test{
	{"ReadyOnceMigrated", func(t *testing.T, e *env) {
		if err := e.s.Ready(e.ctx); err != nil {
			t.Fatalf("Ready on a freshly opened store: %v", err)
		}
	}},
	{"GetSetAndIfAbsent", func(t *testing.T, e *env) {
		v, err := e.s.Setting(e.ctx, "k")
		if err != nil || v != "" {
			t.Fatalf("unset setting = %q, %v; want \"\"", v, err)
		}
		e.must(e.s.SetSetting(e.ctx, "k", "one"))
		e.must(e.s.SetSetting(e.ctx, "k", "two"))
		if v, _ := e.s.Setting(e.ctx, "k"); v != "two" {
			t.Fatalf("setting = %q, want two", v)
		}
		stored, err := e.s.SetSettingIfAbsent(e.ctx, "k", "three")
		if err != nil || stored {
			t.Fatalf("SetSettingIfAbsent on a set key = %v, %v", stored, err)
		}
		stored, err = e.s.SetSettingIfAbsent(e.ctx, "other", "x")
		if err != nil || !stored {
			t.Fatalf("SetSettingIfAbsent on an unset key = %v, %v", stored, err)
		}
		if v, _ := e.s.Setting(e.ctx, "k"); v != "two" {
			t.Fatalf("setting after IfAbsent = %q, want two", v)
		}
	}},
	{"AdminTokenThroughService", func(t *testing.T, e *env) {
		tok, err := e.svc.EnsureAdminToken(e.ctx, "")
		if err != nil || tok == "" {
			t.Fatalf("first EnsureAdminToken = %q, %v", tok, err)
		}
		again, err := e.svc.EnsureAdminToken(e.ctx, "")
		if err != nil || again != "" {
			t.Fatalf("second EnsureAdminToken = %q, %v; want no new token", again, err)
		}
		p, err := e.svc.Authenticate(e.ctx, tok, subgate.TokenAPI)
		if err != nil || !p.Admin {
			t.Fatalf("admin token authenticates as %+v, %v", p, err)
		}
	}},
}

var resellerTests = []test{
	{"CreateAndRead", func(t *testing.T, e *env) {
		r := &subgate.Reseller{Name: "Acme", Email: "ops@acme.test", PasswordHash: "$2a$hash"}
		e.must(e.s.CreateReseller(e.ctx, r))
		if r.ID <= 0 || r.CreatedAt.IsZero() || r.Pools == nil {
			t.Fatalf("CreateReseller did not fill ID, CreatedAt, Pools: %+v", r)
		}
		got, err := e.s.Reseller(e.ctx, r.ID)
		e.must(err)
		if got.Name != "Acme" || got.Email != "ops@acme.test" || got.PasswordHash != "$2a$hash" || got.ID != r.ID {
			t.Fatalf("read back %+v", got)
		}
		if d := got.CreatedAt.Sub(r.CreatedAt); d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("CreatedAt %v read back as %v", r.CreatedAt, got.CreatedAt)
		}
		for _, p := range subgate.Products {
			if got.Pools[p] != 0 {
				t.Fatalf("new pool %s = %d", p, got.Pools[p])
			}
		}
		byEmail, err := e.s.ResellerByEmail(e.ctx, "ops@acme.test")
		e.must(err)
		if byEmail.ID != r.ID {
			t.Fatalf("ResellerByEmail found %d, want %d", byEmail.ID, r.ID)
		}
		_, err = e.s.Reseller(e.ctx, r.ID+1000)
		wantCode(t, err, subgate.ENOTFOUND)
		_, err = e.s.ResellerByEmail(e.ctx, "nobody@acme.test")
		wantCode(t, err, subgate.ENOTFOUND)
	}},
	{"DuplicateEmailConflicts", func(t *testing.T, e *env) {
		e.must(e.s.CreateReseller(e.ctx, &subgate.Reseller{Name: "a", Email: "same@x.test"}))
		err := e.s.CreateReseller(e.ctx, &subgate.Reseller{Name: "b", Email: "SAME@x.test"})
		wantCode(t, err, subgate.ECONFLICT)
		// Resellers without a login may be many.
		e.must(e.s.CreateReseller(e.ctx, &subgate.Reseller{Name: "c"}))
		e.must(e.s.CreateReseller(e.ctx, &subgate.Reseller{Name: "d"}))
		list, err := e.s.Resellers(e.ctx)
		e.must(err)
		if len(list) != 3 {
			t.Fatalf("%d resellers, want 3", len(list))
		}
		for i := 1; i < len(list); i++ {
			if list[i-1].ID >= list[i].ID {
				t.Fatalf("resellers not in id order: %d then %d", list[i-1].ID, list[i].ID)
			}
		}
	}},
	{"ServiceValidatesAndLogsIn", func(t *testing.T, e *env) {
		_, err := e.svc.CreateReseller(e.ctx, admin, subgate.ResellerCreate{Name: " "})
		wantCode(t, err, subgate.EINVALID)
		_, err = e.svc.CreateReseller(e.ctx, admin, subgate.ResellerCreate{Name: "Acme", Email: "not-an-email", Password: "correct horse"})
		wantCode(t, err, subgate.EINVALID)
		list, err := e.s.Resellers(e.ctx)
		e.must(err)
		if len(list) != 0 {
			t.Fatalf("invalid input created a reseller: %d resellers", len(list))
		}
		// A cheap bcrypt cost keeps the test quick; the service reads the cost from the hash.
		hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
		e.must(err)
		r := &subgate.Reseller{Name: "Acme", Email: "boss@acme.test", PasswordHash: string(hash)}
		e.must(e.s.CreateReseller(e.ctx, r))
		got, err := e.svc.Login(e.ctx, "Boss@Acme.test", "correct horse")
		if err != nil || got.ID != r.ID {
			t.Fatalf("login = %v, %v", got, err)
		}
		_, err = e.svc.Login(e.ctx, "boss@acme.test", "wrong horse!")
		wantCode(t, err, subgate.EUNAUTHORIZED)
		_, err = e.svc.Login(e.ctx, "nobody@acme.test", "correct horse")
		wantCode(t, err, subgate.EUNAUTHORIZED)
	}},
	{"CountSubUsers", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 100})
		other := e.reseller(nil)
		a := e.subUser(r.ID, nil)
		e.subUser(r.ID, nil)
		e.subUser(other.ID, nil)
		n, err := e.s.CountSubUsers(e.ctx, r.ID)
		if err != nil || n != 2 {
			t.Fatalf("count = %d, %v; want 2", n, err)
		}
		e.must(e.s.DeleteSubUser(e.ctx, 0, a.ID, time.Now()))
		if n, _ := e.s.CountSubUsers(e.ctx, r.ID); n != 1 {
			t.Fatalf("count after delete = %d, want 1", n)
		}
	}},
}

var tokenTests = []test{
	{"CreateLookupRevoke", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		other := e.reseller(nil)
		exp := time.Now().Add(time.Hour).Truncate(time.Second)
		tok := &subgate.Token{ResellerID: r.ID, Kind: subgate.TokenNetNut, Hash: subgate.HashSecret("s1"), Prefix: "nn_abcd", ExpiresAt: &exp}
		e.must(e.s.CreateToken(e.ctx, tok))
		if tok.ID <= 0 || tok.CreatedAt.IsZero() {
			t.Fatalf("CreateToken did not fill ID, CreatedAt: %+v", tok)
		}
		e.must(e.s.CreateToken(e.ctx, &subgate.Token{ResellerID: r.ID, Kind: subgate.TokenAPI, Hash: subgate.HashSecret("s2"), Prefix: "sgr_x"}))
		e.must(e.s.CreateToken(e.ctx, &subgate.Token{ResellerID: other.ID, Kind: subgate.TokenAPI, Hash: subgate.HashSecret("s3"), Prefix: "sgr_y"}))

		got, err := e.s.TokenByHash(e.ctx, subgate.HashSecret("s1"))
		e.must(err)
		if got.ID != tok.ID || got.ResellerID != r.ID || got.Kind != subgate.TokenNetNut || got.Prefix != "nn_abcd" ||
			got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil {
			t.Fatalf("TokenByHash = %+v", got)
		}
		_, err = e.s.TokenByHash(e.ctx, subgate.HashSecret("nope"))
		wantCode(t, err, subgate.ENOTFOUND)

		list, err := e.s.Tokens(e.ctx, r.ID)
		e.must(err)
		if len(list) != 2 {
			t.Fatalf("%d tokens for the reseller, want 2", len(list))
		}
		wantCode(t, e.s.RevokeToken(e.ctx, other.ID, tok.ID, time.Now()), subgate.ENOTFOUND)
		at := time.Now().Truncate(time.Second)
		e.must(e.s.RevokeToken(e.ctx, r.ID, tok.ID, at))
		got, err = e.s.TokenByHash(e.ctx, subgate.HashSecret("s1"))
		e.must(err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(at) || got.Active(time.Now()) {
			t.Fatalf("revoked token = %+v", got)
		}
	}},
	{"ServiceAuthenticates", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		secret, tok, err := e.svc.IssueToken(e.ctx, admin, r.ID, subgate.TokenAPI)
		e.must(err)
		p, err := e.svc.Authenticate(e.ctx, secret, subgate.TokenAPI)
		if err != nil || p.ResellerID != r.ID || p.Admin {
			t.Fatalf("authenticate = %+v, %v", p, err)
		}
		_, err = e.svc.Authenticate(e.ctx, secret, subgate.TokenNetNut)
		wantCode(t, err, subgate.EUNAUTHORIZED)
		e.must(e.svc.RevokeToken(e.ctx, admin, r.ID, tok.ID))
		_, err = e.svc.Authenticate(e.ctx, secret, subgate.TokenAPI)
		wantCode(t, err, subgate.EUNAUTHORIZED)
	}},
}

var poolTests = []test{
	{"CreditDebit", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		got, err := e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 5000})
		e.must(err)
		if got.Pools[res] != 5000 {
			t.Fatalf("pool after credit = %d", got.Pools[res])
		}
		got, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: -2000})
		e.must(err)
		if got.Pools[res] != 3000 {
			t.Fatalf("pool after debit = %d", got.Pools[res])
		}
		_, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: -3001})
		wantCode(t, err, subgate.EINSUFFICIENT)
		_, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID, Product: dc, Bytes: -1})
		wantCode(t, err, subgate.EINSUFFICIENT)
		if p := e.pool(r.ID, res); p != 3000 {
			t.Fatalf("a refused debit changed the pool to %d", p)
		}
		l := e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID)})
		if len(l) != 2 || l[0].Kind != subgate.LedgerDebit || l[0].Bytes != 2000 || l[1].Kind != subgate.LedgerCredit || l[1].Bytes != 5000 {
			t.Fatalf("ledger = %s", fmtLedger(l))
		}
		_, err = e.s.CreditPool(e.ctx, subgate.PoolCredit{ResellerID: r.ID + 100, Product: res, Bytes: 1})
		wantCode(t, err, subgate.ENOTFOUND)
		CheckInvariant(t, e.s, r.ID)
	}},
	{"IdempotentCredit", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		c := subgate.PoolCredit{ResellerID: r.ID, Product: res, Bytes: 700, IdempotencyKey: "credit-1"}
		for range 3 {
			got, err := e.s.CreditPool(e.ctx, c)
			e.must(err)
			if got.Pools[res] != 700 {
				t.Fatalf("pool after replayed credit = %d, want 700", got.Pools[res])
			}
		}
		c.Bytes = 701
		_, err := e.s.CreditPool(e.ctx, c)
		wantCode(t, err, subgate.ECONFLICT)
		if n := len(e.ledger(subgate.LedgerFilter{Scope: subgate.Scope(r.ID)})); n != 1 {
			t.Fatalf("%d ledger entries, want 1", n)
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	{"ServiceRejectsBadAmounts", func(t *testing.T, e *env) {
		r := e.reseller(nil)
		_, err := e.svc.CreditPool(e.ctx, admin, r.ID, "gold", 5, "")
		wantCode(t, err, subgate.EINVALID)
		_, err = e.svc.CreditPool(e.ctx, admin, r.ID, res, 0, "")
		wantCode(t, err, subgate.EINVALID)
		_, err = e.svc.CreditPool(e.ctx, subgate.Principal{ResellerID: r.ID}, r.ID, res, 5, "")
		wantCode(t, err, subgate.EFORBIDDEN)
		if p := e.pool(r.ID, res); p != 0 {
			t.Fatalf("rejected credits changed the pool to %d", p)
		}
	}},
}
