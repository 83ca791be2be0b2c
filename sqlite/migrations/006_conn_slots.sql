-- Connection slots nodes hold per sub-user (max_concurrency across nodes).
CREATE TABLE conn_slots (
	subuser_id INTEGER NOT NULL,
	node       TEXT NOT NULL,
	slots      INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (subuser_id, node)
) WITHOUT ROWID;
CREATE INDEX conn_slots_expiry ON conn_slots (expires_at);
