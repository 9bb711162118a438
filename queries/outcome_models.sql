-- The models of one full-information log with their mean quality over the prompts every model answered (what
-- picks the strong and the weak model of a two-model log), and whether any cost was derived. Params: $log.
WITH models AS (
    SELECT count(DISTINCT model) AS k FROM outcomes WHERE log = $log
),
complete AS (
    SELECT prompt_id
    FROM outcomes
    WHERE log = $log
    GROUP BY prompt_id
    HAVING count(*) = (SELECT k FROM models)
)
SELECT
    model,
    avg(quality)            AS mean_quality,
    bool_or(cost_derived)   AS cost_derived
FROM outcomes
WHERE log = $log AND prompt_id IN (SELECT prompt_id FROM complete)
GROUP BY model
ORDER BY model;
