-- Migration 4: prompt cue counts recorded when a full-information log is imported, so a replay classifies its
-- prompts from counts instead of re-reading every prompt's text (workbench/replay/cue_features.py says what is
-- counted; workbench/store/cues.py records them; the replay's store pages read them). Counts are taken from the
-- original text, before the store's privacy mode applies, and are not recorded under hash-only.

-- The cue set a log's counts were recorded for: which groups, with which words (CueSet.to_json(), rules version
-- included). A log has at most one: an import that adds outcomes to a log that already has some drops them.
-- Counts are recorded only for a log imported in one batch in which every prompt has a row_index of its own and
-- every row_index one prompt, so a row here also certifies that layout to the replay's page reader.
CREATE TABLE cue_sets (
    log             VARCHAR NOT NULL,
    fingerprint     VARCHAR NOT NULL,       -- CueSet.fingerprint: the first 16 hex digits of sha256(cues)
    cues            JSON NOT NULL,          -- CueSet.to_json()
    rows            BIGINT NOT NULL,        -- prompts with recorded counts
    created_at      TIMESTAMP NOT NULL,     -- UTC
    PRIMARY KEY (log, fingerprint)
);

-- One row per prompt (row_index, prompt_id) of the log. `counts` and `distinct_hits` are the packed int16 rows
-- CueColumns.arrow_columns() makes (little-endian, one value per group of the set, distinct counts only for the
-- set's distinct groups). No primary key: rows are written only beside their outcomes, in the same transaction,
-- one per prompt, and an index would slow every import for a guarantee the writer already gives.
CREATE TABLE prompt_cues (
    log             VARCHAR NOT NULL,
    fingerprint     VARCHAR NOT NULL,
    row_index       BIGINT NOT NULL,
    prompt_id       VARCHAR NOT NULL,
    counts          BLOB NOT NULL,
    distinct_hits   BLOB NOT NULL,
    words           INTEGER NOT NULL,
    scalar          BOOLEAN NOT NULL        -- the byte rules could not settle the row: classify it from its text
);
