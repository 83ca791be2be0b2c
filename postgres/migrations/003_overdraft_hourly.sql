-- Overdraft entries become one per sub-user, product and hour, grown in
-- place like usage: merge the rows written one per flush before.
UPDATE ledger l SET bytes = d.total
FROM (SELECT min(id) AS id, sum(bytes) AS total FROM ledger WHERE kind = 'overdraft'
      GROUP BY subuser_id, product, created_at HAVING count(*) > 1) d
WHERE l.id = d.id;
DELETE FROM ledger l WHERE l.kind = 'overdraft' AND EXISTS (
    SELECT 1 FROM ledger o WHERE o.kind = 'overdraft' AND o.subuser_id = l.subuser_id
        AND o.product = l.product AND o.created_at = l.created_at AND o.id < l.id);
CREATE UNIQUE INDEX ledger_overdraft_hour ON ledger (subuser_id, product, created_at) WHERE kind = 'overdraft';
