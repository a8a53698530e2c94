-- What quarantine holds back per indicator cell and rule: records that would count but failed validation.
SELECT h.pledge_id, h.subproject_id, coalesce(n.subproject_name_ko, h.subproject_id) AS subproject_name_ko,
       h.indicator_id, h.period, h.rule, h.held_back_records
FROM indicator_holdbacks h
LEFT JOIN (SELECT DISTINCT pledge_id, subproject_id, subproject_name_ko FROM indicators) n USING (pledge_id, subproject_id)
ORDER BY h.pledge_id, h.subproject_id, h.indicator_id, h.period, h.rule;
