-- Append a registered Arrow batch (view trajectory_batch, ROW_SCHEMA columns) to trajectories.
INSERT INTO trajectories BY NAME SELECT * FROM trajectory_batch;
