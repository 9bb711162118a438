-- Migration 2: the witness chain's bookkeeping, the privacy mode per row, the log catalogue, full-information
-- outcomes, versioned policies and replay runs. Rows written before this migration are chained afterwards by
-- workbench/store/migrations.py (the chain needs Python's canonical JSON, which SQL cannot produce).

-- Position of the row in the store's one hash chain (1, 2, ...); witness_hash = sha256(previous hash + canonical
-- JSON of the trajectory as stored). The privacy mode that was applied to its texts before they were stored.
ALTER TABLE trajectories ADD COLUMN witness_seq BIGINT;
ALTER TABLE trajectories ADD COLUMN privacy VARCHAR;

-- The chain's head: one row, updated in the same transaction as every append, so two writers on one file
-- conflict (and retry) instead of forking the chain, and a truncated tail is detectable.
CREATE TABLE witness_head (
    id      INTEGER PRIMARY KEY,            -- always 1
    seq     BIGINT NOT NULL,                -- witness_seq of the last chained row; 0 for an empty chain
    hash    VARCHAR NOT NULL                -- its witness_hash; 64 zeros for an empty chain
);
INSERT INTO witness_head VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Logs that are not plain live traffic say what they are here; live logs appear without an entry.
CREATE TABLE logs (
    name        VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,           -- live | full-information | bandit | imported
    source      VARCHAR,                    -- where the rows came from (a path, a generator command)
    created_at  TIMESTAMP NOT NULL,         -- UTC
    notes       VARCHAR
);

-- Full-information rows: one per prompt and model, so replay of any policy on these prompts is an exact lookup.
CREATE TABLE outcomes (
    log             VARCHAR NOT NULL,
    prompt_id       VARCHAR NOT NULL,       -- stable identity within the log (RouteLLM MMLU: subject:row)
    row_index       BIGINT NOT NULL,        -- the prompt's position in the source, for a stable replay order
    prompt          VARCHAR,                -- the text (or its redaction / hash, per privacy mode)
    task            VARCHAR,                -- the source's own grouping: MMLU subject, MT-Bench category
    model           VARCHAR NOT NULL,       -- as the source names it (RouteLLM: its CSV column name)
    quality         DOUBLE,                 -- in [0, 1]: correctness, or a judge score scaled from 1-10
    score           DOUBLE,                 -- the source's raw figure (1/0 correct; mean judge score 1-10)
    cost_usd        DOUBLE,
    latency_ms      DOUBLE,                 -- NULL when the source does not say
    input_tokens    BIGINT,
    output_tokens   BIGINT,
    cost_derived    BOOLEAN NOT NULL,       -- true when cost_usd was estimated, not observed
    cost_source     VARCHAR,                -- how cost_usd was obtained, in words
    price_version   VARCHAR,
    extra           VARCHAR,                -- JSON object: per-source details (file, row, per-turn scores, judge)
    privacy         VARCHAR NOT NULL,
    PRIMARY KEY (log, prompt_id, model)
);

-- Learned state, versioned: each save is a new version whose parent is the one it was trained from.
CREATE TABLE policies (
    name            VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    parent_version  INTEGER,
    created_at      TIMESTAMP NOT NULL,     -- UTC
    format          VARCHAR NOT NULL,       -- json | bytes
    state           BLOB NOT NULL,
    notes           VARCHAR,
    PRIMARY KEY (name, version)
);

-- One replay / comparison run and, per pipeline in it, its metrics and curves.
CREATE TABLE replay_runs (
    run_id          VARCHAR PRIMARY KEY,
    created_at      TIMESTAMP NOT NULL,     -- UTC
    log             VARCHAR NOT NULL,
    estimator       VARCHAR NOT NULL,       -- exact | ips | snips | dr | dm | rejection | shadow
    outcome_source  VARCHAR,
    seed            BIGINT,
    configs         VARCHAR NOT NULL,       -- JSON object: pipeline name -> config
    notes           VARCHAR
);

CREATE TABLE replay_results (
    run_id      VARCHAR NOT NULL,
    pipeline    VARCHAR NOT NULL,
    metrics     VARCHAR NOT NULL,           -- JSON object
    curves      VARCHAR,                    -- JSON object: curve name -> list of points
    PRIMARY KEY (run_id, pipeline)
);
