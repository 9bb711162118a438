-- Quality, reward and failures per routing tier and chosen model. Params: $log.
SELECT
    coalesce(nullif(tier, ''), '(none)')                    AS tier,
    model,
    count(*)                                                AS requests,
    avg(q_overall)                                          AS mean_quality,
    count(q_overall)                                        AS scored,
    avg(reward)                                             AS mean_reward,
    avg(CASE WHEN status = 'ok' THEN 0.0 ELSE 1.0 END)      AS failure_rate,
    avg(cost_usd)                                           AS mean_cost_usd
FROM trajectories
WHERE $log IS NULL OR log = $log
GROUP BY ALL
ORDER BY tier, model;
