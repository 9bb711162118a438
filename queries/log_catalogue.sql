-- Every log in the store with its kind and row counts. A log without a catalogue entry is live traffic written by
-- a session (kind from its rows' source). cue_prompts: prompts of a full-information log with cue counts recorded
-- at import (replay classifies them without reading their text; see workbench/store/cues.py).
WITH t AS (
    SELECT
        log,
        count(*)                                    AS trajectories,
        any_value(source)                           AS source,
        min(created_at)                             AS first_at,
        max(created_at)                             AS last_at,
        count(*) FILTER (WHERE propensity < 1.0)    AS explored_rows
    FROM trajectories
    GROUP BY log
),
o AS (
    SELECT log, count(DISTINCT prompt_id) AS prompts, count(DISTINCT model) AS models, count(*) AS outcome_rows
    FROM outcomes
    GROUP BY log
),
c AS (
    SELECT log, max(rows) AS cue_prompts FROM cue_sets GROUP BY log
),
names AS (
    SELECT name FROM logs UNION SELECT log FROM t UNION SELECT log FROM o
)
SELECT
    n.name                                                          AS name,
    coalesce(l.kind, CASE WHEN t.source = 'imported' THEN 'imported' ELSE 'live' END) AS kind,
    coalesce(t.trajectories, 0) + coalesce(o.outcome_rows, 0)       AS rows,
    coalesce(t.trajectories, 0)                                     AS trajectories,
    coalesce(o.outcome_rows, 0)                                     AS outcome_rows,
    coalesce(o.prompts, 0)                                          AS prompts,
    coalesce(o.models, 0)                                           AS models,
    coalesce(t.explored_rows, 0)                                    AS explored_rows,
    coalesce(l.source, t.source)                                    AS source,
    coalesce(l.created_at, t.first_at)                              AS created_at,
    t.last_at                                                       AS last_at,
    l.notes                                                         AS notes,
    coalesce(c.cue_prompts, 0)                                      AS cue_prompts
FROM names AS n
LEFT JOIN logs AS l ON l.name = n.name
LEFT JOIN t ON t.log = n.name
LEFT JOIN o ON o.log = n.name
LEFT JOIN c ON c.log = n.name
ORDER BY n.name;
