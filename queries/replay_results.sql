-- One run's configs and per-pipeline metrics and curves (JSON texts). Params: $run_id.
SELECT r.run_id, r.log, r.estimator, r.configs, x.pipeline, x.metrics, x.curves
FROM replay_runs AS r
JOIN replay_results AS x USING (run_id)
WHERE r.run_id = $run_id
ORDER BY x.pipeline;
