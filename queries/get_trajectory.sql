-- One full trajectory row, every column, for row_to_trajectory. Params: $trajectory_id.
SELECT *
FROM trajectories
WHERE trajectory_id = $trajectory_id;
