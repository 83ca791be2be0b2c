-- Static IP inventory (routing). An IP is free when subuser_id is NULL or
-- names a deleted sub-user.
CREATE TABLE static_ips (
	id           INTEGER PRIMARY KEY,
	address      TEXT NOT NULL DEFAULT '', -- local source IP
	upstream     TEXT NOT NULL DEFAULT '', -- static proxy host:port:user:pass
	country      TEXT NOT NULL,
	access_point TEXT NOT NULL DEFAULT '',
	subuser_id   INTEGER REFERENCES subusers (id),
	allocated_at INTEGER,
	created_at   INTEGER NOT NULL,
	CHECK ((address = '') <> (upstream = ''))
);
CREATE UNIQUE INDEX static_ips_address ON static_ips (address) WHERE address <> '';
CREATE UNIQUE INDEX static_ips_upstream ON static_ips (upstream) WHERE upstream <> '';
CREATE INDEX static_ips_place ON static_ips (country, access_point, id);
CREATE INDEX static_ips_subuser ON static_ips (subuser_id, id) WHERE subuser_id IS NOT NULL;
