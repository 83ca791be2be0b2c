-- The routing configuration stored through the API (one row), sealed.
-- config is NULL when none is stored; version grows with every change.
CREATE TABLE stored_routes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    config  BLOB
);
