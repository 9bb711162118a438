-- The highest migration applied to this file (NULL when none is).
SELECT max(version) AS version FROM schema_version;
