-- One text per prompt of an outcome batch being imported (view cue_import_batch, OUTCOME_SCHEMA columns, texts as
-- the source gave them, before any privacy mode): the text of the prompt's last model in model order, NULL kept,
-- which is the row a replay page reads a prompt's text from (the whole-log loader takes the last row too). In
-- prompt order, so a page reads its counts back in the order it needs them.
SELECT row_index, prompt_id, arg_max_null(prompt, model) AS prompt
FROM cue_import_batch
GROUP BY row_index, prompt_id
ORDER BY row_index, prompt_id;
