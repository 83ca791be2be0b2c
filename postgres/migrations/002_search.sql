-- A trigram index makes substring search fast over millions of sub-users. The
-- extension lives in public (never in a schema that may be dropped with its
-- data); without it, search falls back to plain LIKE scans of the lower-cased
-- search column.
DO $$
DECLARE
    ns text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm unavailable, search scans with LIKE: %', SQLERRM;
    END;
    SELECT extnamespace::regnamespace::text INTO ns FROM pg_extension WHERE extname = 'pg_trgm';
    IF ns IS NOT NULL THEN
        EXECUTE format('CREATE INDEX subusers_search_trgm ON subusers USING gin (search %I.gin_trgm_ops) WHERE deleted_at IS NULL', ns);
    END IF;
END
$$;
