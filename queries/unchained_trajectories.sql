-- Rows written before the witness existed (schema 1), oldest first, as they will be chained: every column, with
-- the privacy mode they were written under ('full': schema 1 had no other). Chained once by migration 3.
SELECT * REPLACE ('full' AS privacy)
FROM trajectories
WHERE witness_seq IS NULL
ORDER BY created_unix, trajectory_id;
