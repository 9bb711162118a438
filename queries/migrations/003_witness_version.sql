-- Migration 3: the witness format of each row. Version 1 (schema 2) hashed each trajectory's canonical JSON;
-- version 2 hashes a binary encoding of every stored column, built a batch at a time (workbench/store/digest.py),
-- so chaining no longer limits ingest. Rows already chained keep version 1 and are verified as written; rows never
-- chained (files from schema 1) are chained as version 2 right after this migration by
-- workbench/store/migrations.py, in the same transaction.
ALTER TABLE trajectories ADD COLUMN witness_version SMALLINT;     -- 1 | 2; NULL only for a row not in the chain
UPDATE trajectories SET witness_version = 1 WHERE witness_seq IS NOT NULL;
