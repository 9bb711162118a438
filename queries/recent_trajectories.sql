-- The newest trajectories first, with the columns a list view shows. Params: $limit.
-- created_unix orders exactly (created_at is rounded to microseconds); trajectory_id breaks exact ties.
SELECT
    trajectory_id,
    created_at,
    log,
    task_type,
    model,
    strategy,
    status,
    cost_usd,
    latency_ms,
    q_overall,
    prompt
FROM trajectories
ORDER BY created_unix DESC, trajectory_id DESC
LIMIT $limit;
