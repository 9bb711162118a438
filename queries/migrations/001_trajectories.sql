-- Migration 1: the trajectories table. Every field of workbench.domain.Trajectory is a typed column (nested
-- records flattened, lists as LIST/STRUCT, free-form mappings as canonical JSON text) so DuckDB can filter and
-- aggregate without parsing blobs. Keep in step with workbench/store/rows.py (ROW_SCHEMA); tests compare the two.

CREATE TABLE IF NOT EXISTS trajectories (
    trajectory_id           VARCHAR PRIMARY KEY,
    created_at              TIMESTAMP NOT NULL,     -- UTC, microseconds: for humans and time filters
    created_unix            DOUBLE NOT NULL,        -- the record's exact float seconds: a TIMESTAMP cannot round-trip it
    log                     VARCHAR NOT NULL,
    source                  VARCHAR NOT NULL,       -- live | simulated | imported
    pipeline_id             VARCHAR,
    config_hash             VARCHAR,

    -- request
    prompt                  VARCHAR,                -- latest user message (derived; messages hold the truth)
    messages                STRUCT(role VARCHAR, content VARCHAR)[],
    tools                   VARCHAR,                -- JSON list
    request_metadata        VARCHAR,                -- JSON object
    max_output_tokens       BIGINT,

    -- task profile
    task_type               VARCHAR,
    complexity              DOUBLE,
    factors                 MAP(VARCHAR, DOUBLE),
    budget_class            VARCHAR,
    urgency                 VARCHAR,
    required_capabilities   VARCHAR[],
    profile_confidence      DOUBLE,
    profile_explanation     VARCHAR,
    factor_notes            VARCHAR,                -- JSON object: factor -> what moved it

    -- routing decision
    model                   VARCHAR,                -- chosen provider/model
    provider                VARCHAR,                -- derived from model
    strategy                VARCHAR,
    candidates              STRUCT(model VARCHAR, score DOUBLE, probability DOUBLE, excluded VARCHAR)[],
    propensity              DOUBLE,
    explored                BOOLEAN,
    uncertainty             DOUBLE,
    decision_reason         VARCHAR,
    fallbacks               VARCHAR[],
    tier                    VARCHAR,
    decision_policy         VARCHAR,                -- a policy that overrode normal selection, if any

    -- assembled context
    context_messages        STRUCT(role VARCHAR, content VARCHAR)[],
    context_tokens          BIGINT,
    context_budget          BIGINT,
    context_dropped         BIGINT,
    context_notes           VARCHAR,

    -- response
    served_model            VARCHAR,
    status                  VARCHAR,                -- ok | failed
    response_text           VARCHAR,
    tool_calls              VARCHAR,                -- JSON list
    finish_reason           VARCHAR,
    json_repaired           BOOLEAN,
    response_error          VARCHAR,
    input_tokens            BIGINT,
    output_tokens           BIGINT,
    cost_usd                DOUBLE,
    price_version           VARCHAR,
    ttft_ms                 DOUBLE,
    latency_ms              DOUBLE,
    attempts                STRUCT(
                                deployment VARCHAR,
                                status VARCHAR,
                                latency_ms DOUBLE,
                                http_status INTEGER,
                                retry_after_s DOUBLE,
                                error VARCHAR
                            )[],
    response_metadata       VARCHAR,                -- JSON object: provider-specific extras

    -- quality
    q_accuracy              DOUBLE,
    q_relevance             DOUBLE,
    q_completeness          DOUBLE,
    q_coherence             DOUBLE,
    q_safety                DOUBLE,
    q_overall               DOUBLE,
    quality_source          VARCHAR,                -- none | heuristic | label | judge
    quality_explanations    VARCHAR,                -- JSON object

    -- learning and integrity
    reward                  DOUBLE,
    reward_source           VARCHAR,
    learner_version_before  INTEGER,
    learner_version_after   INTEGER,
    witness_hash            VARCHAR                 -- SHA-256 chain link; NULL until the witness lands
);
