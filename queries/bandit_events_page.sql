-- One page of a trajectory log's witnessed events, in the order bandit_events gives them: witness_seq after
-- $after_seq, at most $rows (keyset paging: each page reads on from where the last one stopped).
-- Params: $log, $after_seq, $rows.
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
    witness_seq
FROM trajectories
WHERE log = $log AND witness_seq > $after_seq
ORDER BY witness_seq
LIMIT $rows;
