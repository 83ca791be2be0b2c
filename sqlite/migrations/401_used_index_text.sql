-- The usage indexes carry the searched text, so a search listed by usage
-- tests each row it passes in the index instead of reading the row: pages
-- of a term in a few percent of the rows cost index reads only.
DROP INDEX subusers_r_used;
CREATE INDEX subusers_r_used ON subusers (reseller_id, total_used, id, username, name, note) WHERE deleted_at IS NULL;
DROP INDEX subusers_a_used;
CREATE INDEX subusers_a_used ON subusers (total_used, id, username, name, note) WHERE deleted_at IS NULL;
