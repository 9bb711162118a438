-- Latency and time-to-first-token percentiles per served model (successful requests only). Params: $log.
SELECT
    coalesce(nullif(served_model, ''), model)   AS model,
    count(*)                                    AS requests,
    quantile_cont(latency_ms, 0.50)             AS p50_ms,
    quantile_cont(latency_ms, 0.95)             AS p95_ms,
    quantile_cont(latency_ms, 0.99)             AS p99_ms,
    quantile_cont(ttft_ms, 0.50)                AS ttft_p50_ms,
    quantile_cont(ttft_ms, 0.95)                AS ttft_p95_ms
FROM trajectories
WHERE ($log IS NULL OR log = $log) AND status = 'ok'
GROUP BY ALL
ORDER BY model;
