-- The card's budget totals checked against the sum of their parts ("-" counts as 0):
--   period_sum:  a row's 계 column = the sum of its periods;
--   source_sum:  the 계 row of 재원 = 구비 + 시비 + 국비, per period;
--   subproject_sum: the 계 row = the sum of the sub-project rows, per period.
WITH b AS (
    SELECT subproject_id, funding_source, period, coalesce(amount_million_krw, 0) AS amount, amount_text
    FROM budget WHERE pledge_id = $pledge
),
period_sum AS (
    SELECT 'period_sum' AS check_kind, t.subproject_id, t.funding_source, 'total' AS period,
           t.amount AS printed, t.amount_text AS printed_text, sum(p.amount) AS parts
    FROM b t JOIN b p ON p.subproject_id = t.subproject_id AND p.funding_source = t.funding_source AND p.period <> 'total'
    WHERE t.period = 'total'
    GROUP BY ALL
),
source_sum AS (
    SELECT 'source_sum' AS check_kind, t.subproject_id, t.funding_source, t.period,
           t.amount AS printed, t.amount_text AS printed_text, sum(p.amount) AS parts
    FROM b t JOIN b p ON p.subproject_id = t.subproject_id AND p.period = t.period AND p.funding_source <> 'total'
    WHERE t.funding_source = 'total' AND t.subproject_id = 'total'
    GROUP BY ALL
),
subproject_sum AS (
    SELECT 'subproject_sum' AS check_kind, t.subproject_id, t.funding_source, t.period,
           t.amount AS printed, t.amount_text AS printed_text, sum(p.amount) AS parts
    FROM b t JOIN b p ON p.period = t.period AND p.funding_source = 'total' AND p.subproject_id <> 'total'
    WHERE t.subproject_id = 'total' AND t.funding_source = 'total'
    GROUP BY ALL
)
SELECT check_kind, subproject_id, funding_source, period, printed, printed_text, parts, printed = parts AS adds_up
FROM (SELECT * FROM period_sum UNION ALL SELECT * FROM source_sum UNION ALL SELECT * FROM subproject_sum)
ORDER BY check_kind, subproject_id, funding_source, CASE WHEN period = 'total' THEN '' ELSE period END;
