-- The cue set recorded for one full-information log, if any (at most one is kept; the newest, should there be
-- more). Params: $log.
SELECT fingerprint, CAST(cues AS VARCHAR) AS cues, rows
FROM cue_sets
WHERE log = $log
ORDER BY created_at DESC, fingerprint
LIMIT 1;
