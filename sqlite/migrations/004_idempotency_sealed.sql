-- Answers of idempotent requests are sealed at rest from now on; answers
-- stored before in the clear are dropped (a retry then runs again, and the
-- ledger's own idempotency keys still apply traffic movements once).
DELETE FROM idempotency WHERE body IS NOT NULL;
