-- One page's prompts: id, text and task from each prompt's row of $last (the log's last model in model order), the
-- row the whole-log loader takes a prompt's text from. A prompt without that model cannot be replayed and is not
-- here. In no particular order. Params: $log, $lo, $hi, $last.
SELECT row_index, prompt_id, prompt, task
FROM outcomes
WHERE log = $log AND row_index >= $lo AND row_index < $hi AND model = $last;
