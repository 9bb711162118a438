-- Per model of one full-information log (or, with $log NULL, of all): prompts, mean quality, cost. Params: $log.
SELECT
    log,
    model,
    count(*)                    AS prompts,
    avg(quality)                AS mean_quality,
    sum(cost_usd)               AS total_cost_usd,
    avg(cost_usd)               AS mean_cost_usd,
    bool_or(cost_derived)       AS cost_derived,
    any_value(price_version)    AS price_version
FROM outcomes
WHERE $log IS NULL OR log = $log
GROUP BY log, model
ORDER BY log, model;
