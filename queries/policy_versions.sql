-- Every stored version of every policy (or of $name), newest first, without the state blobs. Params: $name.
SELECT name, version, parent_version, created_at, format, octet_length(state) AS state_bytes, notes
FROM policies
WHERE $name IS NULL OR name = $name
ORDER BY name, version DESC;
