-- Per pledge: the card's planned budget (소요예산액 계, million KRW). No curated table holds executed
-- amounts (집행액) yet; the report says so instead of inventing them.
SELECT pledge_id, amount_million_krw AS planned_million_krw, amount_text AS planned_text
FROM budget
WHERE subproject_id = 'total' AND funding_source = 'total' AND period = 'total'
ORDER BY pledge_id;
