-- One pledge's 소요예산액 as printed (million KRW), every row of the card's table.
SELECT subproject_id, subproject_name_ko, funding_source, funding_source_ko, period, amount_million_krw, amount_text
FROM budget
WHERE pledge_id = $pledge
ORDER BY CASE WHEN subproject_id = 'total' THEN 0 ELSE 1 END, subproject_id,
         CASE funding_source WHEN 'total' THEN 0 WHEN 'district' THEN 1 WHEN 'city' THEN 2 ELSE 3 END,
         CASE WHEN period = 'total' THEN '' ELSE period END;
