-- Sub-user changes are numbered without a global lock (see seqSteps in
-- store.go): a change locks one stripe row, by updating it, before it draws
-- its Seq and holds it to commit. A reader sees which stripes are held by
-- transactions still in flight (the xmax of the row version it sees) and
-- reads changes only up to the lowest Seq such a stripe recorded, below
-- every Seq an in-flight change can commit with.
CREATE TABLE change_stripes (
    stripe integer PRIMARY KEY,
    seq    bigint NOT NULL -- the sequence's value when the stripe was last locked
) WITH (fillfactor = 10); -- room for the updated versions on each page (HOT)
INSERT INTO change_stripes (stripe, seq)
    SELECT g, (SELECT last_value FROM subuser_seq) FROM generate_series(0, 127) g;

-- Live sub-user counts per reseller, in stripes by sub-user id so creates
-- and deletes of one reseller neither rewrite its row nor queue on one
-- counter. resellers.live_subusers is no longer kept (nodes of the previous
-- version still write it during a rolling upgrade).
CREATE TABLE live_counts (
    reseller_id bigint NOT NULL,
    stripe      integer NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (reseller_id, stripe)
);
INSERT INTO live_counts (reseller_id, stripe, n)
    SELECT id, 0, live_subusers FROM resellers WHERE live_subusers <> 0;
