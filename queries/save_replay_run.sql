-- Record a replay run. Params: $run_id, $now (UTC), $log, $estimator, $outcome_source, $seed, $configs, $notes.
INSERT INTO replay_runs VALUES ($run_id, $now, $log, $estimator, $outcome_source, $seed, $configs, $notes);
