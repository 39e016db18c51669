"""``ezkl``: the ezkl package (Halo2 with KZG commitments on BN254) as a peer prover."""
