-- Connection slots nodes hold per sub-user (max_concurrency across nodes).
CREATE TABLE conn_slots (
    subuser_id bigint NOT NULL,
    node       text NOT NULL,
    slots      bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (subuser_id, node)
);
CREATE INDEX conn_slots_expiry ON conn_slots (expires_at);
