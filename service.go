package subgate

import (
	"context"
	"sync"
	"time"
)

// Service is the one place business rules live. The native API, the provider
// dialects, the CLI (through the API) and the dashboard all call it; the store
// underneath only keeps transactions honest.
type Service struct {
	Store   Store
	Windows Windows
	Now     func() time.Time
	// PublicGateway is where customers reach the proxy gateway, for the
	// proxy lists and URLs the edges hand out.
	PublicGateway GatewayAddress

	mu        sync.Mutex
	listeners []func(subUserID int64)
}

// NewService wires a service onto a store.
func NewService(store Store) *Service {
	return &Service{Store: store, Now: time.Now}
}

// OnSubUserChange registers a callback run after every committed change to a
// sub-user (the gateway uses it to re-check live connections at once).
func (s *Service) OnSubUserChange(fn func(subUserID int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, fn)
}

func (s *Service) changed(id int64) {
	s.mu.Lock()
	ls := s.listeners
	s.mu.Unlock()
	for _, fn := range ls {
		fn(id)
	}
}

const settingAdminTokenHash = "admin_token_hash"

// EnsureAdminToken makes sure an admin token exists. With a configured token,
// its hash replaces the stored one. Without, a token is generated on a fresh
// database and returned (to be shown once); "" means one already existed.
func (s *Service) EnsureAdminToken(ctx context.Context, configured string) (string, error) {
	if configured != "" {
		if len(configured) < 16 {
			return "", Invalidf("SUBGATE_ADMIN_TOKEN", "must be at least 16 characters")
		}
		return "", s.Store.SetSetting(ctx, settingAdminTokenHash, string(hexHash(configured)))
	}
	tok := NewSecret("sga_")
	stored, err := s.Store.SetSettingIfAbsent(ctx, settingAdminTokenHash, string(hexHash(tok)))
	if err != nil || !stored {
		return "", err
	}
	return tok, nil
}

func hexHash(s string) []byte {
	const hexdigits = "0123456789abcdef"
	h := HashSecret(s)
	out := make([]byte, 0, len(h)*2)
	for _, b := range h {
		out = append(out, hexdigits[b>>4], hexdigits[b&15])
	}
	return out
}

// Authenticate resolves an API token of the given kind to a principal.
func (s *Service) Authenticate(ctx context.Context, token string, kind TokenKind) (Principal, error) {
	if token == "" {
		return Principal{}, Errorf(EUNAUTHORIZED, "missing token")
	}
	if kind == TokenAPI {
		adminHash, err := s.Store.Setting(ctx, settingAdminTokenHash)
		if err != nil {
			return Principal{}, err
		}
		if adminHash != "" && EqualSecret(adminHash, string(hexHash(token))) {
			return Principal{Admin: true}, nil
		}
	}
	t, err := s.Store.TokenByHash(ctx, HashSecret(token))
	if ErrorCode(err) == ENOTFOUND || (err == nil && (t.Kind != kind || !t.Active(s.Now()))) {
		return Principal{}, Errorf(EUNAUTHORIZED, "invalid or expired token")
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{ResellerID: t.ResellerID}, nil
}

// Login checks a reseller's email and password (NetNut dialect, dashboard).
// An unknown email, or an account without a password, still costs one bcrypt
// comparison, so the answer's timing does not tell which emails exist.
func (s *Service) Login(ctx context.Context, email, password string) (*Reseller, error) {
	r, err := s.Store.ResellerByEmail(ctx, normalizeEmail(email))
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	hash := dummyPasswordHash()
	if err == nil && r.PasswordHash != "" {
		hash = r.PasswordHash
	}
	if !checkPassword(hash, password) || err != nil || r.PasswordHash == "" {
		return nil, Errorf(EUNAUTHORIZED, "wrong email or password")
	}
	return r, nil
}

// checkPassword is CheckPassword; a variable so tests can count comparisons.
var checkPassword = CheckPassword

// dummyPasswordHash is a bcrypt hash, at the cost real hashes use, of a
// password nobody knows; Login compares against it when there is no account.
var dummyPasswordHash = sync.OnceValue(func() string {
	h, err := HashPassword(NewSecret("dummy_"))
	if err != nil {
		panic(err)
	}
	return h
})

func requireAdmin(p Principal) error {
	if !p.Admin {
		return Errorf(EFORBIDDEN, "admin token required")
	}
	return nil
}

// ManageRoutes checks that p may read or replace the gateway's routing
// configuration and read egress health: the admin only. The configuration
// in force lives in each node's router, so its edges ask here.
func (s *Service) ManageRoutes(p Principal) error {
	if !p.Admin {
		return Errorf(EFORBIDDEN, "routing is managed by the admin")
	}
	return nil
}

// scope turns a principal into a store scope. Only the admin sees all: a
// principal that is neither admin nor a reseller (a wiring mistake) gets a
// scope no object has, never the admin's.
func scope(p Principal) Scope {
	if p.Admin {
		return 0
	}
	if p.ResellerID <= 0 {
		return noScope
	}
	return Scope(p.ResellerID)
}

// noScope matches no reseller's objects.
const noScope Scope = -1

// CreateReseller creates a reseller (admin only).
func (s *Service) CreateReseller(ctx context.Context, p Principal, c ResellerCreate) (*Reseller, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Reseller{Name: c.Name, Email: c.Email}
	if c.Password != "" {
		h, err := HashPassword(c.Password)
		if err != nil {
			return nil, err
		}
		r.PasswordHash = h
	}
	if err := s.Store.CreateReseller(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Resellers lists every reseller (admin only).
func (s *Service) Resellers(ctx context.Context, p Principal) ([]*Reseller, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	return s.Store.Resellers(ctx)
}

// Reseller reads one reseller: the admin any, a reseller itself.
func (s *Service) Reseller(ctx context.Context, p Principal, id int64) (*Reseller, error) {
	if !p.Admin && p.ResellerID != id {
		return nil, NotFound("reseller")
	}
	return s.Store.Reseller(ctx, id)
}

// Me describes the calling reseller: pools and sub-user count.
func (s *Service) Me(ctx context.Context, p Principal) (*Reseller, int64, error) {
	if p.Admin {
		return nil, 0, Invalidf("token", "is the admin token; /me is for reseller tokens")
	}
	r, err := s.Store.Reseller(ctx, p.ResellerID)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.Store.CountSubUsers(ctx, p.ResellerID)
	return r, n, err
}

// IssueToken creates a token for a reseller and returns its secret once.
// API tokens are the admin's to issue; NetNut tokens come from Login.
func (s *Service) IssueToken(ctx context.Context, p Principal, resellerID int64, kind TokenKind) (string, *Token, error) {
	switch kind {
	case TokenAPI:
		if err := requireAdmin(p); err != nil {
			return "", nil, err
		}
	case TokenNetNut:
		if p.Admin || p.ResellerID != resellerID {
			return "", nil, Errorf(EFORBIDDEN, "netnut tokens are issued to the logged-in reseller")
		}
	default:
		return "", nil, Invalidf("kind", "must be api or netnut")
	}
	if _, err := s.Store.Reseller(ctx, resellerID); err != nil {
		return "", nil, err
	}
	prefix := "sgr_"
	t := &Token{ResellerID: resellerID, Kind: kind}
	if kind == TokenNetNut {
		prefix = "nn_"
		exp := s.Now().Add(24 * time.Hour)
		t.ExpiresAt = &exp
	}
	secret := NewSecret(prefix)
	t.Hash, t.Prefix = HashSecret(secret), SecretPrefix(secret)
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// Tokens lists a reseller's tokens (admin only).
func (s *Service) Tokens(ctx context.Context, p Principal, resellerID int64) ([]*Token, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	return s.Store.Tokens(ctx, resellerID)
}

// RevokeToken revokes a reseller's token (admin only).
func (s *Service) RevokeToken(ctx context.Context, p Principal, resellerID, tokenID int64) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	return s.Store.RevokeToken(ctx, resellerID, tokenID, s.Now())
}

// CreditPool credits (bytes > 0) or debits (bytes < 0) a reseller pool (admin only).
func (s *Service) CreditPool(ctx context.Context, p Principal, resellerID int64, product Product, bytes int64, key string) (*Reseller, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	if _, err := ParseProduct(string(product)); err != nil {
		return nil, err
	}
	abs := bytes
	if abs < 0 {
		abs = -abs
	}
	if err := ValidateAmount("bytes", abs); err != nil {
		return nil, err
	}
	return s.Store.CreditPool(ctx, PoolCredit{ResellerID: resellerID, Product: product, Bytes: bytes, IdempotencyKey: key})
}

// CreateSubUser creates a sub-user of the calling reseller (the admin names
// the reseller), giving its initial traffic from the pool.
func (s *Service) CreateSubUser(ctx context.Context, p Principal, resellerID int64, c SubUserCreate, key string) (*SubUser, error) {
	if !p.Admin {
		resellerID = p.ResellerID
	} else if resellerID == 0 {
		return nil, Invalidf("reseller_id", "is required when the admin creates a sub-user")
	}
	if err := c.Validate(s.Now()); err != nil {
		return nil, err
	}
	if c.Status == StatusBlocked && !p.Admin {
		return nil, Invalidf("status", "blocked is set by the operator only")
	}
	if c.Password == "" {
		c.Password = NewProxyPassword()
	}
	u := &SubUser{
		Hash: NewHash(), ResellerID: resellerID, Username: c.Username, Password: c.Password,
		Name: c.Name, Note: c.Note, Email: c.Email, PrivatePool: c.PrivatePool, Status: c.Status,
		Funding: c.Funding, Limits: c.Limits, ExpiresAt: c.ExpiresAt, AllowIPs: c.AllowIPs,
	}
	if c.DashboardPassword != "" {
		h, err := HashPassword(c.DashboardPassword)
		if err != nil {
			return nil, err
		}
		u.DashboardPasswordHash = h
	}
	if err := s.Store.CreateSubUser(ctx, u, c.Traffic, key); err != nil {
		return nil, err
	}
	s.changed(u.ID)
	return u, nil
}

// SubUser reads a sub-user by numeric id or hash.
func (s *Service) SubUser(ctx context.Context, p Principal, ref string) (*SubUser, error) {
	if ref == "" {
		return nil, NotFound("sub-user")
	}
	u, err := s.Store.SubUser(ctx, scope(p), ref)
	if err != nil {
		return nil, err
	}
	s.current(u)
	return u, nil
}

// SubUserByUsername reads one of the caller's sub-users by its exact proxy
// username; another reseller's is ENOTFOUND.
func (s *Service) SubUserByUsername(ctx context.Context, p Principal, username string) (*SubUser, error) {
	u, err := s.Store.SubUserByUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	if sc := scope(p); sc != 0 && u.ResellerID != int64(sc) {
		return nil, NotFound("sub-user")
	}
	s.current(u)
	return u, nil
}

// current brings a sub-user's window counters to the present.
func (s *Service) current(u *SubUser) {
	u.Usage = u.Usage.At(s.Windows, s.Now())
}

// SubUsers lists a page of sub-users.
func (s *Service) SubUsers(ctx context.Context, p Principal, f SubUserFilter) (*SubUserPage, error) {
	f.Scope = scope(p)
	if err := f.Validate(); err != nil {
		return nil, err
	}
	page, err := s.Store.SubUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, u := range page.Items {
		s.current(u)
	}
	return page, nil
}

// UpdateSubUser applies a partial update.
func (s *Service) UpdateSubUser(ctx context.Context, p Principal, ref string, upd SubUserUpdate) (*SubUser, error) {
	u, err := s.prepareUpdate(ctx, p, ref, &upd)
	if err != nil {
		return nil, err
	}
	u, err = s.Store.UpdateSubUser(ctx, scope(p), u.ID, upd, s.Now())
	if err != nil {
		return nil, err
	}
	s.current(u)
	s.changed(u.ID)
	return u, nil
}

// prepareUpdate validates upd, applies the status rules and hashes a new
// dashboard password; it returns the sub-user ref names.
func (s *Service) prepareUpdate(ctx context.Context, p Principal, ref string, upd *SubUserUpdate) (*SubUser, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if err := statusChange(p, u, upd); err != nil {
		return nil, err
	}
	if upd.DashboardPassword != nil {
		h, err := HashPassword(*upd.DashboardPassword)
		if err != nil {
			return nil, err
		}
		upd.DashboardPasswordHash = &h
	}
	return u, nil
}

// UpdateSubUserTraffic applies a partial update and sets the sub-user's
// available bytes of one product, in one transaction: both or neither
// (IPRoyal's update). The give or take follows Transfer's rules.
func (s *Service) UpdateSubUserTraffic(ctx context.Context, p Principal, ref string, upd SubUserUpdate, target TrafficTarget, key string) (*SubUser, error) {
	if err := target.Validate("traffic"); err != nil {
		return nil, err
	}
	u, err := s.prepareUpdate(ctx, p, ref, &upd)
	if err != nil {
		return nil, err
	}
	u, err = s.Store.UpdateSubUserTraffic(ctx, scope(p), u.ID, upd, target, key, s.Now())
	if err != nil {
		return nil, err
	}
	s.current(u)
	s.changed(u.ID)
	return u, nil
}

// statusChange applies the status rules: only the operator sets or clears
// blocked; a reseller echoing blocked for a sub-user already blocked (9Proxy
// sends back the status it read) changes nothing.
func statusChange(p Principal, u *SubUser, upd *SubUserUpdate) error {
	if upd.Status == nil || p.Admin {
		return nil
	}
	switch {
	case *upd.Status == StatusBlocked && u.Status == StatusBlocked:
		upd.Status = nil
	case *upd.Status == StatusBlocked:
		return Invalidf("status", "blocked is set by the operator only")
	case u.Status == StatusBlocked:
		return Invalidf("status", "cannot be changed: the operator blocked this sub-user, and only the operator can change it")
	}
	return nil
}

// SetPassword sets a sub-user's proxy password.
func (s *Service) SetPassword(ctx context.Context, p Principal, ref, password string) (*SubUser, error) {
	return s.UpdateSubUser(ctx, p, ref, SubUserUpdate{Password: &password})
}

// SetStatus enables or disables a sub-user.
func (s *Service) SetStatus(ctx context.Context, p Principal, ref string, st Status) (*SubUser, error) {
	return s.UpdateSubUser(ctx, p, ref, SubUserUpdate{Status: &st})
}

// DeleteSubUser deletes a sub-user; its unused traffic returns to the pool.
func (s *Service) DeleteSubUser(ctx context.Context, p Principal, ref string) error {
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteSubUser(ctx, scope(p), u.ID, s.Now()); err != nil {
		return err
	}
	s.changed(u.ID)
	return nil
}

// Give moves bytes (> 0) of product from the reseller's pool to the sub-user.
func (s *Service) Give(ctx context.Context, p Principal, ref string, product Product, bytes int64, key string) (*SubUser, error) {
	if err := ValidateAmount("bytes", bytes); err != nil {
		return nil, err
	}
	return s.transfer(ctx, p, ref, product, bytes, key)
}

// Take moves bytes (> 0) of product from the sub-user back to the pool.
func (s *Service) Take(ctx context.Context, p Principal, ref string, product Product, bytes int64, key string) (*SubUser, error) {
	if err := ValidateAmount("bytes", bytes); err != nil {
		return nil, err
	}
	return s.transfer(ctx, p, ref, product, -bytes, key)
}

func (s *Service) transfer(ctx context.Context, p Principal, ref string, product Product, signed int64, key string) (*SubUser, error) {
	if _, err := ParseProduct(string(product)); err != nil {
		return nil, err
	}
	if err := ValidateAmount("bytes", max(signed, -signed)); err != nil {
		return nil, err
	}
	u, err := s.SubUser(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	u, err = s.Store.Transfer(ctx, Transfer{Scope: scope(p), SubUserID: u.ID, Product: product, Bytes: signed, IdempotencyKey: key})
	if err != nil {
		return nil, err
	}
	s.current(u)
	s.changed(u.ID)
	return u, nil
}

// SetTraffic gives or takes so that the sub-user's available bytes of product
// equal target. The difference is worked out inside the store's transaction,
// so a concurrent change cannot make it give or take the wrong amount.
func (s *Service) SetTraffic(ctx context.Context, p Principal, ref string, product Product, target int64, key string) (*SubUser, error) {
	return s.UpdateSubUserTraffic(ctx, p, ref, SubUserUpdate{}, TrafficTarget{Product: product, Available: target}, key)
}

// Usage answers a usage series for the caller's sub-users.
func (s *Service) Usage(ctx context.Context, p Principal, q UsageQuery) ([]UsagePoint, error) {
	q.Scope = scope(p)
	q.Windows = s.Windows
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return s.Store.Usage(ctx, q)
}

// Ledger lists the caller's ledger entries, newest first.
func (s *Service) Ledger(ctx context.Context, p Principal, f LedgerFilter) ([]*LedgerEntry, error) {
	f.Scope = scope(p)
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return s.Store.Ledger(ctx, f)
}

func normalizeEmail(e string) string {
	n := []byte(e)
	for i, c := range n {
		if 'A' <= c && c <= 'Z' {
			n[i] = c + 'a' - 'A'
		}
	}
	return string(n)
}
