-- Housekeeping deletes old egress keys and idempotency records by age.
CREATE INDEX egress_day ON egress (day_key);
CREATE INDEX idempotency_created ON idempotency (created_at);
