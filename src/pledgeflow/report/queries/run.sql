-- The run that published this version (the runs table keeps the whole history; the version names its run).
SELECT run_number, run_id, started_at, finished_at, status, message, files_read, rows_read, rows_valid,
       rows_quarantined, mismatches, version
FROM runs
WHERE version = $version
ORDER BY run_number DESC
LIMIT 1;
