-- Forget a log's recorded cue counts (an import is adding outcomes to a log that already has some: the counts
-- would no longer cover it, or would cover a prompt twice). delete_log_cue_sets forgets their set. Params: $log.
DELETE FROM prompt_cues WHERE log = $log;
