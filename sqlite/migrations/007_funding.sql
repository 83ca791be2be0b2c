-- Funding mode per sub-user: allocated (its own balance) or shared (the
-- reseller's pool). A shared sub-user's lease holds bytes of the pool, so
-- leases name the pool they draw on: every live lease on one pool bounds
-- the next, across sub-users and nodes.
ALTER TABLE subusers ADD COLUMN funding TEXT NOT NULL DEFAULT 'allocated';
CREATE INDEX subusers_shared ON subusers (reseller_id, id) WHERE funding = 'shared' AND deleted_at IS NULL;

ALTER TABLE leases ADD COLUMN pool_reseller_id INTEGER NOT NULL DEFAULT 0; -- 0: the sub-user's own balance
CREATE INDEX leases_pool ON leases (pool_reseller_id, product, expires_at) WHERE pool_reseller_id <> 0;

-- Shared usage (pool → used) is one row per sub-user, product and hour too.
DROP INDEX ledger_hourly;
CREATE UNIQUE INDEX ledger_hourly ON ledger (subuser_id, product, kind, created_at) WHERE kind IN ('usage', 'overdraft', 'pool_usage');
