-- Record one pipeline's result in a replay run. Params: $run_id, $pipeline, $metrics, $curves (JSON texts).
INSERT INTO replay_results VALUES ($run_id, $pipeline, $metrics, $curves);
