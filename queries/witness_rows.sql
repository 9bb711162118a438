-- A page of the hash chain in order, every column, for verification. Params: $after (a witness_seq), $limit.
-- Starts AT $after (the caller skips the rows it has seen there), so a row sharing the last position of a page
-- is not skipped. Rows without a position (none should exist after migration 2) come last so verify names them.
SELECT *
FROM trajectories
WHERE witness_seq IS NULL OR witness_seq >= $after
ORDER BY witness_seq NULLS LAST, trajectory_id
LIMIT $limit;
