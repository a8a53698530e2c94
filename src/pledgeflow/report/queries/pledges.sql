-- Every pledge of the version, in card-list order: what the overview lists and each page's header.
SELECT pledge_id, pledge_no, district_ko, title_ko, term_start_date, term_end_date, as_of_date,
       implementation_stage_ko, source_document
FROM pledges
ORDER BY pledge_no, pledge_id;
