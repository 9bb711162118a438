-- One trajectory log as replay events, in logged order: the prompt, what was chosen with which propensity, and
-- what it got. Params: $log.
SELECT
    prompt,
    task_type,
    complexity,
    model,
    propensity,
    q_overall                                   AS quality,
    reward,
    cost_usd,
    latency_ms,
    status,
    served_model,
    created_unix
FROM trajectories
WHERE log = $log
ORDER BY witness_seq NULLS LAST, created_unix, trajectory_id;
