-- Store a new version of a policy's learned state. Params: $name, $parent, $now (UTC), $format, $state, $notes.
-- The version is one past the highest stored for the name; RETURNING gives it back.
INSERT INTO policies
SELECT $name, coalesce(max(version), 0) + 1, $parent, $now, $format, $state, $notes
FROM policies
WHERE name = $name
RETURNING version;
