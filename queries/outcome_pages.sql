-- Where each page of one full-information log starts: every $rows-th distinct row_index, in order. A page is the
-- row_index range [start, next start). Params: $log, $rows.
SELECT min(row_index) AS start
FROM (
    SELECT row_index, (dense_rank() OVER (ORDER BY row_index) - 1) // $rows AS page
    FROM (SELECT DISTINCT row_index FROM outcomes WHERE log = $log)
)
GROUP BY page
ORDER BY start;
