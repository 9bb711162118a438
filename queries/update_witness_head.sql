-- Move the chain's head; runs in the same transaction as the rows it covers. Params: $seq, $hash.
UPDATE witness_head SET seq = $seq, hash = $hash WHERE id = 1;
