-- Append a registered Arrow batch (view outcome_batch, OUTCOME_SCHEMA columns) to outcomes.
INSERT INTO outcomes BY NAME SELECT * FROM outcome_batch;
