package subgate

import (
	"context"
	"time"
)

// Store persists the domain. Two implementations (sqlite, postgres) pass the
// same test suite (storetest). Every method that moves traffic is a single
// transaction that keeps, for each reseller and product:
//
//	pool + Σ sub-user available + Σ sub-user used = Σ credited − Σ debited
//
// Store methods validate nothing that the domain validates (see the Validate
// methods); they enforce what only a transaction can: balances, uniqueness,
// ownership. An object of another reseller than Scope is ENOTFOUND.
type Store interface {
	// Settings are small key/value facts such as the admin token hash.
	Setting(ctx context.Context, key string) (string, error) // "" when unset
	SetSetting(ctx context.Context, key, value string) error
	// SetSettingIfAbsent stores value unless key exists; it reports whether it stored.
	SetSettingIfAbsent(ctx context.Context, key, value string) (bool, error)

	CreateReseller(ctx context.Context, r *Reseller) error // fills ID, CreatedAt, Pools; ECONFLICT on duplicate email
	Reseller(ctx context.Context, id int64) (*Reseller, error)
	ResellerByEmail(ctx context.Context, email string) (*Reseller, error)
	Resellers(ctx context.Context) ([]*Reseller, error)
	// CountSubUsers counts a reseller's live sub-users.
	CountSubUsers(ctx context.Context, resellerID int64) (int64, error)
	// CreditPool applies a PoolCredit; a debit beyond the pool is EINSUFFICIENT.
	CreditPool(ctx context.Context, c PoolCredit) (*Reseller, error)

	CreateToken(ctx context.Context, t *Token) error // fills ID, CreatedAt
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	Tokens(ctx context.Context, resellerID int64) ([]*Token, error)
	RevokeToken(ctx context.Context, resellerID, tokenID int64, at time.Time) error

	// CreateSubUser inserts u and gives initial traffic from the pool in one
	// transaction; fills ID, CreatedAt, UpdatedAt, Traffic. ECONFLICT on a
	// taken username, EINSUFFICIENT when the pool is short.
	CreateSubUser(ctx context.Context, u *SubUser, initial map[Product]int64, idempotencyKey string) error
	// SubUser finds a live sub-user by numeric id or hash.
	SubUser(ctx context.Context, scope Scope, ref string) (*SubUser, error)
	SubUserByUsername(ctx context.Context, username string) (*SubUser, error)
	SubUsers(ctx context.Context, f SubUserFilter) (*SubUserPage, error)
	UpdateSubUser(ctx context.Context, scope Scope, id int64, upd SubUserUpdate, at time.Time) (*SubUser, error)
	// UpdateSubUsers applies b to every live sub-user of scope that b.Refs
	// name, in one transaction: a ref naming none is BulkNotFound and nothing
	// changes. check sees each sub-user as locked (ID, Hash, ResellerID and
	// Status at least) before anything is written; an error from it leaves
	// everything unchanged. Each sub-user gets a new Seq of its own. The
	// sub-users are returned as updated, by id.
	UpdateSubUsers(ctx context.Context, scope Scope, b SubUserBulkUpdate, check func(*SubUser) error, at time.Time) ([]*SubUser, error)
	// DeleteSubUser soft-deletes and returns unused, unleased traffic to the pool.
	DeleteSubUser(ctx context.Context, scope Scope, id int64, at time.Time) error
	// Transfer gives or takes traffic. A take may not touch leased bytes.
	Transfer(ctx context.Context, t Transfer) (*SubUser, error)
	// SubUserTrafficStore: field changes and a traffic target in one transaction.
	SubUserTrafficStore

	Ledger(ctx context.Context, f LedgerFilter) ([]*LedgerEntry, error)
	Usage(ctx context.Context, q UsageQuery) ([]UsagePoint, error)

	// SubUsersChanged returns sub-users (deleted ones too) whose Seq is above
	// after, in Seq order, at most limit. Every committed change gets a new
	// Seq, and a change is returned only once no change with a lower Seq can
	// still commit, so a reader that remembers the highest Seq it saw never
	// misses one.
	SubUsersChanged(ctx context.Context, after int64, limit int) ([]*SubUser, error)
	// SubUsersSeq returns a Seq to follow SubUsersChanged from without
	// reading what came before: no change at or below it can still commit.
	SubUsersSeq(ctx context.Context) (int64, error)
	// SubUsersAllowingIPs returns live sub-users with a non-empty AllowIPs
	// whose id is above afterID, by id, at most limit.
	SubUsersAllowingIPs(ctx context.Context, afterID int64, limit int) ([]*SubUser, error)

	// AcquireLease grows the node's lease on a balance by up to Want bytes,
	// bounded by what the balance and every byte limit leave once all live
	// leases are counted. It returns the bytes added (possibly 0).
	AcquireLease(ctx context.Context, r LeaseRequest) (int64, error)
	// FlushUsage applies a batch in one transaction, once per batch ID.
	FlushUsage(ctx context.Context, b UsageBatch) error
	// AdmitEgress records an egress key of a sub-user in a day window when
	// AdmitsEgress allows it, in one transaction that serialises the
	// sub-user's admissions across connections and nodes.
	AdmitEgress(ctx context.Context, r EgressRequest) (EgressAdmission, error)
	// AcquireSlots grows the node's hold on the sub-user's connection slots
	// by SlotGrant (expired holds of every node dropped first) and sets its
	// expiry to Now+TTL; it returns the slots added.
	AcquireSlots(ctx context.Context, r SlotRequest) (int64, error)
	// SyncSlots lowers each listed hold of the node to at most the given
	// slots and renews the live ones; it returns the holds as stored after
	// (a hold that expired or reached 0 is left out: the node holds none).
	SyncSlots(ctx context.Context, s SlotSync) ([]SlotHold, error)

	// Audit sums a reseller's balances per product (see AuditLine).
	Audit(ctx context.Context, resellerID int64) (map[Product]AuditLine, error)

	// Ready says whether the store answers and its schema holds every
	// migration of this build (readiness probes).
	Ready(ctx context.Context) error

	// Idempotency records for API write requests (see IdempotencyRecord).
	BeginIdempotent(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, error)
	FinishIdempotent(ctx context.Context, rec *IdempotencyRecord) error

	Close() error
}

// IdempotencyRecord remembers the answer to a write request sent with an
// Idempotency-Key. BeginIdempotent inserts a pending record and returns nil,
// or returns the existing record (pending or finished) for the same
// principal and key without inserting.
type IdempotencyRecord struct {
	Principal   string // "admin" or "reseller:<id>"
	Key         string
	Fingerprint string // method, path and a hash of the body
	Status      int    // 0 while pending
	Body        []byte
	CreatedAt   time.Time
}

// Cipher encrypts secrets that must be readable again (proxy passwords) before
// they are stored.
type Cipher interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(ciphertext []byte) ([]byte, error)
}
