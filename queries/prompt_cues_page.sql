-- One page of a log's recorded cue counts: the prompts whose row_index is in [$lo, $hi), in no particular order
-- (the reader places them by row_index). Params: $log, $fingerprint, $lo, $hi.
SELECT row_index, counts, distinct_hits, words, scalar
FROM prompt_cues
WHERE log = $log AND fingerprint = $fingerprint AND row_index >= $lo AND row_index < $hi;
