-- Catalogue a log (first registration wins: a later import into the same log keeps its entry).
-- Params: $name, $kind, $source, $now (UTC), $notes.
INSERT INTO logs
SELECT $name, $kind, $source, $now, $notes
WHERE NOT EXISTS (SELECT 1 FROM logs WHERE name = $name);
