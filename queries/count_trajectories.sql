-- How many trajectories, in one log or (with $log NULL) in all. Params: $log.
SELECT count(*) AS n
FROM trajectories
WHERE $log IS NULL OR log = $log;
