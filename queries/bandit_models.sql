-- The models a trajectory log chose (its action set, sorted) and how many events it has. Params: $log.
SELECT
    list_sort(list_distinct(list(model) FILTER (WHERE model IS NOT NULL AND model <> '')))    AS models,
    count(*)                                                                                AS events
FROM trajectories
WHERE log = $log;
