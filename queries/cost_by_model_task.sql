-- Cost per served model and task type, in one log or (with $log NULL) in all. Params: $log.
SELECT
    coalesce(nullif(served_model, ''), model)   AS model,
    task_type,
    count(*)                                    AS requests,
    sum(cost_usd)                               AS total_cost_usd,
    avg(cost_usd)                               AS mean_cost_usd,
    sum(input_tokens)                           AS input_tokens,
    sum(output_tokens)                          AS output_tokens,
    string_agg(DISTINCT price_version, ', ')    AS price_versions
FROM trajectories
WHERE $log IS NULL OR log = $log
GROUP BY ALL
ORDER BY total_cost_usd DESC, model, task_type;
