-- Core schema. Times are Unix nanoseconds (UTC); traffic is bytes.

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE resellers (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL,
	email         TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	live_subusers INTEGER NOT NULL DEFAULT 0, -- kept by the store so counting is O(1)
	created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX resellers_email ON resellers (email COLLATE NOCASE) WHERE email <> '';

CREATE TABLE pools (
	reseller_id INTEGER NOT NULL REFERENCES resellers (id),
	product     TEXT NOT NULL,
	bytes       INTEGER NOT NULL CHECK (bytes >= 0),
	PRIMARY KEY (reseller_id, product)
) WITHOUT ROWID;

CREATE TABLE tokens (
	id          INTEGER PRIMARY KEY,
	reseller_id INTEGER NOT NULL REFERENCES resellers (id),
	kind        TEXT NOT NULL,
	hash        BLOB NOT NULL UNIQUE,
	prefix      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER,
	revoked_at  INTEGER
);
CREATE INDEX tokens_reseller ON tokens (reseller_id, id);

CREATE TABLE subusers (
	id              INTEGER PRIMARY KEY,
	hash            TEXT NOT NULL UNIQUE,
	reseller_id     INTEGER NOT NULL REFERENCES resellers (id),
	username        TEXT NOT NULL,
	password        BLOB NOT NULL, -- sealed with the store's cipher
	name            TEXT NOT NULL DEFAULT '',
	note            TEXT NOT NULL DEFAULT '',
	email           TEXT NOT NULL DEFAULT '',
	dashboard_hash  TEXT NOT NULL DEFAULT '',
	private_pool    REAL NOT NULL DEFAULT 0,
	status          TEXT NOT NULL,
	limit_daily     INTEGER NOT NULL DEFAULT 0,
	limit_monthly   INTEGER NOT NULL DEFAULT 0,
	limit_lifetime  INTEGER NOT NULL DEFAULT 0,
	limit_usage_cap INTEGER NOT NULL DEFAULT 0,
	limit_ip_cap    INTEGER NOT NULL DEFAULT 0,
	limit_conc      INTEGER NOT NULL DEFAULT 0,
	day_key         INTEGER NOT NULL DEFAULT 0,
	day_used        INTEGER NOT NULL DEFAULT 0,
	month_key       INTEGER NOT NULL DEFAULT 0,
	month_used      INTEGER NOT NULL DEFAULT 0,
	expires_at      INTEGER,
	allow_ips       TEXT NOT NULL DEFAULT '',
	-- Totals over products, kept in step with balances so lists can sort by them on an index.
	total_available INTEGER NOT NULL DEFAULT 0,
	total_used      INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	deleted_at      INTEGER,
	seq             INTEGER NOT NULL
);
CREATE UNIQUE INDEX subusers_username ON subusers (username COLLATE NOCASE) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX subusers_seq ON subusers (seq);

-- One index per list order, per reseller and across resellers (admin), live rows only.
CREATE INDEX subusers_r_id        ON subusers (reseller_id, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_username  ON subusers (reseller_id, username, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_created   ON subusers (reseller_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_used      ON subusers (reseller_id, total_used, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_available ON subusers (reseller_id, total_available, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_status    ON subusers (reseller_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_id        ON subusers (id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_username  ON subusers (username, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_created   ON subusers (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_used      ON subusers (total_used, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_available ON subusers (total_available, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_status    ON subusers (status, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_reseller_all ON subusers (reseller_id);

CREATE TABLE balances (
	subuser_id INTEGER NOT NULL REFERENCES subusers (id),
	product    TEXT NOT NULL,
	available  INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
	used       INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
	PRIMARY KEY (subuser_id, product)
) WITHOUT ROWID;

CREATE TABLE leases (
	subuser_id INTEGER NOT NULL REFERENCES subusers (id),
	product    TEXT NOT NULL,
	node       TEXT NOT NULL,
	bytes      INTEGER NOT NULL CHECK (bytes >= 0),
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (subuser_id, product, node)
) WITHOUT ROWID;
CREATE INDEX leases_node ON leases (node);

CREATE TABLE ledger (
	id              INTEGER PRIMARY KEY,
	reseller_id     INTEGER NOT NULL REFERENCES resellers (id),
	subuser_id      INTEGER NOT NULL DEFAULT 0, -- 0 for pool-only movements
	product         TEXT NOT NULL,
	kind            TEXT NOT NULL,
	bytes           INTEGER NOT NULL CHECK (bytes > 0),
	idempotency_key TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
);
CREATE INDEX ledger_reseller ON ledger (reseller_id, id);
CREATE INDEX ledger_subuser ON ledger (subuser_id, id) WHERE subuser_id <> 0;
-- Usage and overdraft are one row per sub-user, product and hour, grown in place.
CREATE UNIQUE INDEX ledger_hourly ON ledger (subuser_id, product, kind, created_at) WHERE kind IN ('usage', 'overdraft');

-- Idempotency keys of ledger movements, unique per reseller.
CREATE TABLE ledger_keys (
	reseller_id INTEGER NOT NULL,
	key         TEXT NOT NULL,
	op          TEXT NOT NULL, -- pool, transfer, create
	subuser_id  INTEGER NOT NULL DEFAULT 0,
	product     TEXT NOT NULL DEFAULT '',
	bytes       INTEGER NOT NULL DEFAULT 0, -- signed
	PRIMARY KEY (reseller_id, key)
) WITHOUT ROWID;

CREATE TABLE usage_hourly (
	subuser_id  INTEGER NOT NULL,
	hour        INTEGER NOT NULL, -- Unix seconds of the hour's start
	product     TEXT NOT NULL,
	reseller_id INTEGER NOT NULL,
	bytes       INTEGER NOT NULL,
	PRIMARY KEY (subuser_id, hour, product)
) WITHOUT ROWID;
CREATE INDEX usage_hourly_reseller ON usage_hourly (reseller_id, hour);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

CREATE TABLE usage_batches (
	id         TEXT PRIMARY KEY,
	applied_at INTEGER NOT NULL
);
CREATE INDEX usage_batches_applied ON usage_batches (applied_at);

CREATE TABLE egress (
	subuser_id INTEGER NOT NULL,
	day_key    INTEGER NOT NULL,
	key        TEXT NOT NULL,
	PRIMARY KEY (subuser_id, day_key, key)
) WITHOUT ROWID;

CREATE TABLE idempotency (
	principal   TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status      INTEGER NOT NULL DEFAULT 0,
	body        BLOB,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (principal, key)
) WITHOUT ROWID;
