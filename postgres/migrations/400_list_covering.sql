-- A list in usage order that tests a status or a search walks the usage
-- index and tests each row it passes; read from the sub-user row, that is a
-- heap read per row, most of them missing the cache at a million sub-users.
-- The totals row carries a copy of the sub-user's status and search text,
-- and the usage indexes include them, so such a walk tests rows in the index
-- alone (an index-only scan, once vacuum has marked the pages visible).
-- Triggers keep the copy: no statement has to remember it.
ALTER TABLE totals
    ADD COLUMN status text NOT NULL DEFAULT '',
    ADD COLUMN search text COLLATE "C" NOT NULL DEFAULT '';
UPDATE totals t SET status = s.status, search = s.search FROM subusers s WHERE s.id = t.subuser_id;

CREATE FUNCTION totals_copy_subuser() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    SELECT s.status, s.search INTO NEW.status, NEW.search FROM subusers s WHERE s.id = NEW.subuser_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER totals_copy_subuser BEFORE INSERT ON totals
    FOR EACH ROW EXECUTE FUNCTION totals_copy_subuser();

CREATE FUNCTION subusers_copy_to_totals() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE totals SET status = NEW.status, search = NEW.search WHERE subuser_id = NEW.id;
    RETURN NULL;
END
$$;
-- Usage flushes update sub-user rows too; the condition skips them cheaply.
CREATE TRIGGER subusers_copy_to_totals AFTER UPDATE ON subusers
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.search IS DISTINCT FROM NEW.search)
    EXECUTE FUNCTION subusers_copy_to_totals();

DROP INDEX totals_r_used;
DROP INDEX totals_a_used;
CREATE INDEX totals_r_used ON totals (reseller_id, used, subuser_id) INCLUDE (status, search) WHERE live;
CREATE INDEX totals_a_used ON totals (used, subuser_id) INCLUDE (status, search) WHERE live;

-- Lists by id test a search the same way, over the sub-user rows in id
-- order.
DROP INDEX subusers_r_id;
DROP INDEX subusers_a_id;
CREATE INDEX subusers_r_id ON subusers (reseller_id, id) INCLUDE (status, search) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_id ON subusers (id) INCLUDE (status, search) WHERE deleted_at IS NULL;

-- A search the trigram index serves is listed by usage from its matches'
-- totals: the key includes the usage and liveness so that lookup reads the
-- index alone too.
ALTER TABLE totals DROP CONSTRAINT totals_pkey;
ALTER TABLE totals ADD CONSTRAINT totals_pkey PRIMARY KEY (subuser_id) INCLUDE (used, live);
