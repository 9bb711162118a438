-- Record the cue set a log's counts were recorded for. Params: $log, $fingerprint, $cues (JSON text), $rows,
-- $now (UTC).
INSERT INTO cue_sets VALUES ($log, $fingerprint, $cues, $rows, $now);
