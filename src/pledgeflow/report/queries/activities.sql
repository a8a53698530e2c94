-- The activities the card's 추진실적 text lists for one pledge, every printed figure, in card order.
SELECT a.subproject_id, coalesce(s.subproject_name_ko, a.subproject_id) AS subproject_name_ko, a.activity_kind,
       a.activity_kind_ko, a.activity_name_ko, a.measure, a.measure_ko, a.period, a.period_text, a.value,
       a.value_text, a.unit_ko, a.note_ko, a.malformed, a.source_ref, a.activity_order
FROM card_activities a
LEFT JOIN (SELECT DISTINCT pledge_id, subproject_id, subproject_name_ko FROM indicators) s USING (pledge_id, subproject_id)
WHERE a.pledge_id = $pledge
ORDER BY a.activity_order;
