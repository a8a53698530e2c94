-- One pledge's indicator cells (sub-project x indicator x period), in card order.
-- actual is counted from valid records; reported_actual is the card's print; excluded_records are
-- records of the cell that quarantine holds back.
SELECT pledge_id, subproject_id, subproject_name_ko, indicator_id, indicator_name_ko, unit, period, period_order,
       period_start_date, period_end_date, target, actual, reported_actual, cumulative_actual, total_target,
       achievement_rate_pct, excluded_records, status, target_semantics
FROM indicators
WHERE pledge_id = $pledge
ORDER BY subproject_id, indicator_id, period_order;
