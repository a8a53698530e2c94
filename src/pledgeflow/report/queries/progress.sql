-- Per pledge, sub-project and indicator: what the status rule and the 이행률 need, as of the card's date.
-- 이행률 (achievement) = cumulative actual from records to the as-of date / total target (목표 계): the running total
-- at the last period begun by then (a distinct count counts each value once to date, so it is not a sum of periods).
-- periods_started: periods begun by the as-of date; target_due: targets of periods ended by then;
-- open_periods: periods with a target that end after the as-of date (targets still open).
WITH cells AS (
    SELECT i.*, p.as_of_date
    FROM indicators i JOIN pledges p USING (pledge_id)
)
SELECT pledge_id, subproject_id, any_value(subproject_name_ko) AS subproject_name_ko, indicator_id,
       any_value(indicator_name_ko) AS indicator_name_ko, any_value(unit) AS unit,
       max(total_target) AS total_target,
       coalesce(arg_max(cumulative_actual, period_order) FILTER (WHERE period_start_date <= as_of_date), 0) AS actual_to_date,
       -- a cumulative target (목표 누적) is already the total to date: the last one due, not their sum
       coalesce(CASE WHEN any_value(target_semantics) = 'cumulative'
                     THEN arg_max(target, period_order) FILTER (WHERE period_end_date <= as_of_date AND target IS NOT NULL)
                     ELSE sum(target) FILTER (WHERE period_end_date <= as_of_date) END, 0) AS target_due,
       count(*) AS periods_total,
       count(*) FILTER (WHERE period_start_date <= as_of_date) AS periods_started,
       count(*) FILTER (WHERE period_end_date > as_of_date AND coalesce(target, 0) > 0) AS open_periods,
       coalesce(string_agg(period, ', ' ORDER BY period_order) FILTER (WHERE period_end_date > as_of_date AND coalesce(target, 0) > 0), '') AS open_period_labels,
       coalesce(sum(excluded_records), 0) AS excluded_records,
       round(100.0 * coalesce(arg_max(cumulative_actual, period_order) FILTER (WHERE period_start_date <= as_of_date), 0) / nullif(max(total_target), 0), 1) AS achievement_pct
FROM cells
GROUP BY pledge_id, subproject_id, indicator_id
ORDER BY pledge_id, subproject_id, indicator_id;
