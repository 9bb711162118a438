-- Trajectories matching optional filters, newest first, with the columns a list view shows. A NULL parameter
-- matches everything. Params: $task_type, $model (served or chosen, substring), $status, $since_unix, $log, $limit.
SELECT
    trajectory_id,
    created_at,
    log,
    task_type,
    model,
    served_model,
    strategy,
    status,
    cost_usd,
    latency_ms,
    q_overall,
    witness_seq,
    prompt
FROM trajectories
WHERE ($task_type IS NULL OR task_type = $task_type)
  AND ($model IS NULL OR model ILIKE '%' || $model || '%' OR served_model ILIKE '%' || $model || '%')
  AND ($status IS NULL OR status = $status)
  AND ($since_unix IS NULL OR created_unix >= $since_unix)
  AND ($log IS NULL OR log = $log)
ORDER BY created_unix DESC, trajectory_id DESC
LIMIT $limit;
