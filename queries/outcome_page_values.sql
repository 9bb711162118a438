-- One page's outcomes as numbers, in no particular order: row_index, the model's 0-based position in $models (the
-- log's sorted model list; -1 for a model not in it), quality, cost, latency. Params: $log, $lo, $hi, $models.
SELECT
    row_index,
    coalesce(list_position($models, model), 0)::INTEGER - 1    AS j,
    quality,
    cost_usd,
    latency_ms
FROM outcomes
WHERE log = $log AND row_index >= $lo AND row_index < $hi;
