-- The routing configuration stored through the API (one row), sealed.
-- config is NULL when none is stored; version grows with every change.
CREATE TABLE stored_routes (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL,
    config  bytea
);
