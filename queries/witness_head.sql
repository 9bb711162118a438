-- The hash chain's head: the last chained row's position and hash.
SELECT seq, hash FROM witness_head WHERE id = 1;
