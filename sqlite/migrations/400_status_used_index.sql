-- A status listed by usage (who is disabled and used the most) walks the
-- rows of that status alone in order: a deep or cursor page skips only
-- them, where the plain usage index would read every row to test its status.
-- Like the plain usage indexes (401), these carry the searched text.
CREATE INDEX subusers_r_status_used ON subusers (reseller_id, status, total_used, id, username, name, note) WHERE deleted_at IS NULL;
CREATE INDEX subusers_a_status_used ON subusers (status, total_used, id, username, name, note) WHERE deleted_at IS NULL;
