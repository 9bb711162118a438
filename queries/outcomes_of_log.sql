-- One full-information log's outcome rows, prompt by prompt in source order, models sorted. Params: $log.
SELECT *
FROM outcomes
WHERE log = $log
ORDER BY row_index, prompt_id, model;
