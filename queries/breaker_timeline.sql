-- Per deployment and time bucket: attempts and their failures (what feeds a circuit breaker), and how often the
-- router skipped the deployment because its breaker was open. Params: $log, $bucket_s (bucket width in seconds).
WITH attempts AS (
    SELECT
        to_timestamp(floor(t.created_unix / $bucket_s) * $bucket_s)::TIMESTAMP AS bucket,
        a.deployment,
        a.status
    FROM trajectories AS t, unnest(t.attempts) AS u(a)
    WHERE $log IS NULL OR t.log = $log
),
skips AS (
    SELECT
        to_timestamp(floor(t.created_unix / $bucket_s) * $bucket_s)::TIMESTAMP AS bucket,
        c.model AS deployment
    FROM trajectories AS t, unnest(t.candidates) AS u(c)
    WHERE ($log IS NULL OR t.log = $log) AND c.excluded ILIKE '%breaker%'
),
a AS (
    SELECT
        bucket,
        deployment,
        count(*)                                AS attempts,
        count(*) FILTER (WHERE status <> 'ok')  AS failures,
        string_agg(DISTINCT status, ', ' ORDER BY status) FILTER (WHERE status <> 'ok') AS error_kinds
    FROM attempts
    GROUP BY ALL
),
s AS (
    SELECT bucket, deployment, count(*) AS breaker_open_skips FROM skips GROUP BY ALL
)
SELECT
    coalesce(a.bucket, s.bucket)                        AS bucket,
    coalesce(a.deployment, s.deployment)                AS deployment,
    coalesce(a.attempts, 0)                             AS attempts,
    coalesce(a.failures, 0)                             AS failures,
    coalesce(a.failures, 0) / nullif(a.attempts, 0)     AS failure_rate,
    a.error_kinds                                       AS error_kinds,
    coalesce(s.breaker_open_skips, 0)                   AS breaker_open_skips
FROM a
FULL OUTER JOIN s ON a.bucket = s.bucket AND a.deployment = s.deployment
ORDER BY bucket, deployment;
