-- Gateways load the allow-listed sub-users at start (SubUsersAllowingIPs)
-- and everyone else on demand: this index keeps that load proportional to
-- the allow-listed rows, not to all rows.
CREATE INDEX subusers_allow_ips ON subusers (id) WHERE allow_ips <> '' AND deleted_at IS NULL;
