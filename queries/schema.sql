-- The trajectory store's bootstrap: the version table that numbered migrations record themselves in.
-- The tables live in queries/migrations/NNN_*.sql, applied in order, each once, each in its own transaction
-- (workbench/store/migrations.py); a file records the highest version applied so newer code can upgrade it and
-- older code refuses it.

CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TIMESTAMP NOT NULL          -- UTC
);
