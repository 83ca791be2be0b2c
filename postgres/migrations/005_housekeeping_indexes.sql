-- Housekeeping deletes old idempotency records by age.
CREATE INDEX idempotency_created ON idempotency (created_at);
