-- How the prompts of one page (row_index in [$lo, $hi)) sit on row_index: when pairs = row_indexes = prompt_ids,
-- every prompt has one row_index of its own and the page can be pivoted by row_index alone. Params: $log, $lo, $hi.
SELECT
    count(*)                    AS pairs,
    count(DISTINCT row_index)   AS row_indexes,
    count(DISTINCT prompt_id)   AS prompt_ids
FROM (
    SELECT row_index, prompt_id
    FROM outcomes
    WHERE log = $log AND row_index >= $lo AND row_index < $hi
    GROUP BY row_index, prompt_id
);
