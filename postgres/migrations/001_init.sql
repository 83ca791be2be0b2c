-- Core schema: settings, resellers with pools, tokens, sub-users with
-- per-product balances, leases, the ledger, usage buckets and idempotency.

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE resellers (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    email         text, -- NULL when the reseller has no login
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    -- Live sub-users, kept by create and delete so unfiltered list totals
    -- need no count over millions of rows.
    live_subusers bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX resellers_email ON resellers (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE pools (
    reseller_id bigint NOT NULL REFERENCES resellers (id),
    product     text NOT NULL,
    bytes       bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    PRIMARY KEY (reseller_id, product)
);

CREATE TABLE tokens (
    id          bigserial PRIMARY KEY,
    reseller_id bigint NOT NULL REFERENCES resellers (id),
    kind        text NOT NULL,
    hash        bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX tokens_reseller ON tokens (reseller_id, id);

-- Drawn only under the change advisory lock so commit order equals seq order.
CREATE SEQUENCE subuser_seq;

CREATE TABLE subusers (
    id                      bigserial PRIMARY KEY,
    hash                    text NOT NULL UNIQUE,
    reseller_id             bigint NOT NULL REFERENCES resellers (id),
    username                text COLLATE "C" NOT NULL, -- byte order, like the usernames themselves (ASCII)
    password                bytea NOT NULL, -- sealed with the store's cipher
    name                    text NOT NULL DEFAULT '',
    note                    text NOT NULL DEFAULT '',
    email                   text NOT NULL DEFAULT '',
    dashboard_password_hash text NOT NULL DEFAULT '',
    private_pool            double precision NOT NULL DEFAULT 0,
    status                  text NOT NULL,
    limit_daily             bigint NOT NULL DEFAULT 0,
    limit_monthly           bigint NOT NULL DEFAULT 0,
    limit_lifetime          bigint NOT NULL DEFAULT 0,
    limit_usage_cap         bigint NOT NULL DEFAULT 0,
    limit_ip_usage_cap      bigint NOT NULL DEFAULT 0,
    limit_max_concurrency   bigint NOT NULL DEFAULT 0,
    day_key                 bigint NOT NULL DEFAULT 0,
    day_used                bigint NOT NULL DEFAULT 0,
    month_key               bigint NOT NULL DEFAULT 0,
    month_used              bigint NOT NULL DEFAULT 0,
    expires_at              timestamptz,
    allow_ips               text[] NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    deleted_at              timestamptz,
    seq                     bigint NOT NULL DEFAULT 0,
    -- What search matches: the searchable fields lower-cased, joined by a
    -- separator no search contains, compared byte-wise.
    search                  text COLLATE "C" GENERATED ALWAYS AS
                                (lower(username) || E'\x1f' || lower(name) || E'\x1f' || lower(note)) STORED
);
CREATE UNIQUE INDEX subusers_username_live ON subusers (lower(username)) WHERE deleted_at IS NULL;
CREATE INDEX subusers_seq ON subusers (seq);
CREATE INDEX subusers_reseller ON subusers (reseller_id);

-- Keyset pagination: one index per sort order, per reseller and for the admin.
CREATE INDEX subusers_r_id        ON subusers (reseller_id, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_username  ON subusers (reseller_id, username, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_created   ON subusers (reseller_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_r_status    ON subusers (reseller_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_id        ON subusers (id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_username  ON subusers (username, id) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_created   ON subusers (created_at, id) WHERE deleted_at IS NULL;
-- Flushes rewrite the window counters every second: room on each page lets
-- them update rows in place without touching any index.
ALTER TABLE subusers SET (fillfactor = 80);

-- Sums over a sub-user's balances, for the used and available list orders.
-- They live apart from the sub-user row so that a flush, which changes them,
-- adds entries only to these narrow indexes, not to every index of subusers.
CREATE TABLE totals (
    subuser_id  bigint PRIMARY KEY REFERENCES subusers (id),
    reseller_id bigint NOT NULL,
    live        boolean NOT NULL DEFAULT true,
    available   bigint NOT NULL DEFAULT 0,
    used        bigint NOT NULL DEFAULT 0
);
CREATE INDEX totals_r_used      ON totals (reseller_id, used, subuser_id) WHERE live;
CREATE INDEX totals_r_available ON totals (reseller_id, available, subuser_id) WHERE live;
CREATE INDEX totals_a_used      ON totals (used, subuser_id) WHERE live;
CREATE INDEX totals_a_available ON totals (available, subuser_id) WHERE live;
CREATE INDEX subusers_a_status    ON subusers (status, id) WHERE deleted_at IS NULL;

CREATE TABLE balances (
    subuser_id bigint NOT NULL REFERENCES subusers (id),
    product    text NOT NULL,
    available  bigint NOT NULL DEFAULT 0 CHECK (available >= 0),
    used       bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (subuser_id, product)
);

CREATE TABLE leases (
    subuser_id bigint NOT NULL REFERENCES subusers (id),
    product    text NOT NULL,
    node       text NOT NULL,
    bytes      bigint NOT NULL CHECK (bytes >= 0),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (subuser_id, product, node)
);
CREATE INDEX leases_node ON leases (node);

CREATE TABLE ledger (
    id              bigserial PRIMARY KEY,
    reseller_id     bigint NOT NULL REFERENCES resellers (id),
    subuser_id      bigint, -- NULL for pool-only movements
    product         text NOT NULL,
    kind            text NOT NULL,
    bytes           bigint NOT NULL CHECK (bytes > 0),
    idempotency_key text,
    created_at      timestamptz NOT NULL
);
CREATE INDEX ledger_reseller ON ledger (reseller_id, id);
CREATE INDEX ledger_subuser ON ledger (subuser_id, id);
-- Usage is one entry per sub-user, product and hour, grown in place.
CREATE UNIQUE INDEX ledger_usage_hour ON ledger (subuser_id, product, created_at) WHERE kind = 'usage';

-- Idempotency keys of ledger movements, unique per reseller. op is credit,
-- transfer or create; the other columns tell a repeat from a conflict.
CREATE TABLE ledger_keys (
    reseller_id bigint NOT NULL,
    key         text NOT NULL,
    op          text NOT NULL,
    subuser_id  bigint NOT NULL DEFAULT 0,
    product     text NOT NULL DEFAULT '',
    bytes       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (reseller_id, key)
);

CREATE TABLE usage_hourly (
    subuser_id  bigint NOT NULL,
    hour        timestamptz NOT NULL,
    product     text NOT NULL,
    reseller_id bigint NOT NULL, -- the owner's, so a reseller's series needs no join
    bytes       bigint NOT NULL,
    PRIMARY KEY (subuser_id, hour, product)
);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);
CREATE INDEX usage_hourly_reseller ON usage_hourly (reseller_id, hour);

CREATE TABLE usage_batches (
    id         text PRIMARY KEY,
    node       text NOT NULL,
    applied_at timestamptz NOT NULL
);
CREATE INDEX usage_batches_applied ON usage_batches (applied_at);

CREATE TABLE egress (
    subuser_id bigint NOT NULL,
    day_key    bigint NOT NULL,
    key        text NOT NULL,
    PRIMARY KEY (subuser_id, day_key, key)
);
CREATE INDEX egress_day ON egress (day_key);

CREATE TABLE idempotency (
    principal   text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    status      integer NOT NULL DEFAULT 0,
    body        bytea,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (principal, key)
);
