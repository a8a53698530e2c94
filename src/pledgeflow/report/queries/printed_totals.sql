-- The card's printed 실적 계 and 이행률 per sub-project and indicator, with the checks of them against
-- the records: reconciliation rows of rules cumulative_actual and rate_from_records, whose subject is
-- 'indicators/<subproject_id>/<indicator_id>'.
SELECT split_part(subject, '/', 2) AS subproject_id, split_part(subject, '/', 3) AS indicator_id,
       any_value(observed_text) FILTER (WHERE rule = 'cumulative_actual') AS printed_actual_text,
       any_value(status) FILTER (WHERE rule = 'cumulative_actual') AS actual_status,
       any_value(observed_text) FILTER (WHERE rule = 'rate_from_records') AS printed_rate_text,
       any_value(status) FILTER (WHERE rule = 'rate_from_records') AS rate_status
FROM reconciliation
WHERE rule IN ('cumulative_actual', 'rate_from_records') AND period = 'total' AND subject LIKE 'indicators/%'
GROUP BY ALL
ORDER BY subproject_id, indicator_id;
