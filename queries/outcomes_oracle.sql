-- Per full-information log: the oracle's mean quality (the best model per prompt) and the prompt count. Params: $log.
SELECT log, count(*) AS prompts, avg(best) AS oracle_quality
FROM (
    SELECT log, prompt_id, max(quality) AS best
    FROM outcomes
    WHERE $log IS NULL OR log = $log
    GROUP BY log, prompt_id
)
GROUP BY log
ORDER BY log;
