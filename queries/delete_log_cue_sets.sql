-- Forget the cue set of a log whose counts were dropped (see delete_log_prompt_cues). Params: $log.
DELETE FROM cue_sets WHERE log = $log;
