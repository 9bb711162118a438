-- Every prompt's recorded cue counts of one log under one cue set, for a whole-log read (the loader matches them
-- to its prompts by prompt_id). Params: $log, $fingerprint.
SELECT prompt_id, counts, distinct_hits, words, scalar
FROM prompt_cues
WHERE log = $log AND fingerprint = $fingerprint;
