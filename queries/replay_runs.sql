-- Replay runs, newest first (of one log, or with $log NULL of all), with how many pipelines each compared.
SELECT r.run_id, r.created_at, r.log, r.estimator, r.outcome_source, r.seed, r.notes, count(x.pipeline) AS pipelines
FROM replay_runs AS r
LEFT JOIN replay_results AS x USING (run_id)
WHERE $log IS NULL OR r.log = $log
GROUP BY ALL
ORDER BY r.created_at DESC, r.run_id;
