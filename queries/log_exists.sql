-- Whether a log name is in use anywhere in the store, and as what. Params: $log.
SELECT
    (SELECT count(*) FROM trajectories WHERE log = $log) AS trajectories,
    (SELECT count(*) FROM outcomes WHERE log = $log)     AS outcomes,
    (SELECT any_value(kind) FROM logs WHERE name = $log)   AS kind;
