-- The idempotency key of the allocation that took an IP ('' for none), so a
-- retried allocation returns the IPs of the first instead of taking more.
ALTER TABLE static_ips ADD COLUMN allocation_key TEXT NOT NULL DEFAULT '';
CREATE INDEX static_ips_allocation_key ON static_ips (subuser_id, allocation_key) WHERE allocation_key <> '';
