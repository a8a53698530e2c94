-- Reconciliation findings (status <> 'match') with the pledge they belong to.
-- The reconciliation table carries no pledge_id: with one pledge in the version every finding is
-- its own; with several, a finding belongs to the pledge whose sub-project id or card activity
-- name is one of its subject's '/'-separated parts (a finding that names none is listed under no pledge, on the overview only).
WITH keys AS (
    SELECT DISTINCT pledge_id, subproject_id AS key FROM indicators
    UNION SELECT DISTINCT pledge_id, activity_name_ko FROM card_activities
),
single AS (SELECT min(pledge_id) AS pledge_id FROM pledges HAVING count(*) = 1)
SELECT coalesce((SELECT pledge_id FROM single),
                (SELECT min(k.pledge_id) FROM keys k WHERE list_contains(string_split(r.subject, '/'), k.key))) AS pledge_id,
       r.check_id, r.kind, r.rule, r.subject, r.period, r.expected, r.observed, r.difference,
       r.observed_text, r.source_ref, r.status, r.message_ko, r.message_en
FROM reconciliation r
WHERE r.status <> 'match'
ORDER BY pledge_id, CASE r.status WHEN 'mismatch' THEN 0 WHEN 'malformed' THEN 1 ELSE 2 END, r.kind, r.check_id;
