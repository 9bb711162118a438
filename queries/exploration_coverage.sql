-- How well a log supports off-policy replay: per task type and chosen model, how often it was chosen, how often
-- by exploration, and its propensities (all 1.0 means deterministic logging: IPS cannot be used). Params: $log.
SELECT
    task_type,
    model,
    count(*)                                                    AS decisions,
    count(*) FILTER (WHERE explored)                            AS explored,
    count(*) / sum(count(*)) OVER (PARTITION BY task_type)      AS share,
    min(propensity)                                             AS min_propensity,
    avg(propensity)                                             AS mean_propensity,
    count(*) FILTER (WHERE propensity IS NULL)                  AS missing_propensity,
    count(*) FILTER (WHERE propensity >= 1.0)                   AS deterministic
FROM trajectories
WHERE $log IS NULL OR log = $log
GROUP BY task_type, model
ORDER BY task_type, model;
