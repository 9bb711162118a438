-- Set the chain position, hash and witness version of rows chained after the fact (registered view
-- witness_backfill: trajectory_id, witness_seq, witness_hash, witness_version).
UPDATE trajectories AS t
SET witness_seq = b.witness_seq, witness_hash = b.witness_hash, witness_version = b.witness_version, privacy = 'full'
FROM witness_backfill AS b
WHERE t.trajectory_id = b.trajectory_id;
