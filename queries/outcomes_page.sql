-- One page of a full-information log's outcome rows: row_index in [$lo, $hi), in the order outcomes_of_log gives.
-- Params: $log, $lo, $hi.
SELECT *
FROM outcomes
WHERE log = $log AND row_index >= $lo AND row_index < $hi
ORDER BY row_index, prompt_id, model;
