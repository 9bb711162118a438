-- How much of one full-information log there is, for paged reading. Params: $log.
SELECT
    count(*)            AS rows,
    min(row_index)      AS first_row,
    max(row_index)      AS last_row
FROM outcomes
WHERE log = $log;
