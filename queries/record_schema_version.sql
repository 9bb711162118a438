-- Record that migration $version was applied (at $now, UTC). Params: $version, $now.
INSERT INTO schema_version SELECT $version, $now
WHERE NOT EXISTS (SELECT 1 FROM schema_version WHERE version = $version);
