-- Append a registered Arrow batch (view prompt_cue_batch: log, fingerprint, row_index, prompt_id, counts,
-- distinct_hits, words, scalar) to prompt_cues.
INSERT INTO prompt_cues BY NAME SELECT * FROM prompt_cue_batch;
