-- Every column of one log's trajectories, in the order they were chained (export, replay). Params: $log.
SELECT *
FROM trajectories
WHERE log = $log
ORDER BY witness_seq NULLS LAST, created_unix, trajectory_id;
