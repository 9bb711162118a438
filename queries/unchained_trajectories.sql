-- Rows written before the witness existed (schema 1), oldest first: chained once by migration 2.
SELECT * EXCLUDE (witness_seq, witness_hash, privacy)
FROM trajectories
WHERE witness_seq IS NULL
ORDER BY created_unix, trajectory_id;
