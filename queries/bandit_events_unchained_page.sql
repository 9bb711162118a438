-- One page of a trajectory log's events that carry no witness_seq (they come after the witnessed ones in
-- bandit_events' order), by (created_unix, trajectory_id) after the given pair, at most $rows.
-- Params: $log, $after_unix, $after_id, $rows.
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
    created_unix,
    trajectory_id
FROM trajectories
WHERE log = $log AND witness_seq IS NULL
  AND (created_unix > $after_unix OR (created_unix = $after_unix AND trajectory_id > $after_id))
ORDER BY created_unix, trajectory_id
LIMIT $rows;
