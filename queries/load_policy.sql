-- One version of a policy (with $version NULL: the newest). Params: $name, $version.
SELECT name, version, parent_version, created_at, format, state, notes
FROM policies
WHERE name = $name AND ($version IS NULL OR version = $version)
ORDER BY version DESC
LIMIT 1;
