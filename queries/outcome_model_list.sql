-- The models of one full-information log, and whether all, some or none of its costs were derived: one cheap pass
-- (no per-prompt grouping). Every model of a log with any complete prompt appears in it, so this is the list
-- outcome_models gives whenever the log has a prompt to replay. Params: $log.
SELECT
    model,
    bool_or(cost_derived)   AS any_derived,
    bool_and(cost_derived)  AS all_derived
FROM outcomes
WHERE log = $log
GROUP BY model
ORDER BY model;
