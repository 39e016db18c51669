"""A multilinear polynomial commitment for the GKR prover: Ligero over BabyBear.

``ntt`` (Reed-Solomon encoding), ``merkle`` (SHA-256 column tree), ``params`` (code rate,
number of column openings and the security calculation), ``ligero`` (commit and open, the
prover's side) and ``ligero_verifier`` (the verifier's side, which never imports ``ligero``).
A hiding mode opens products in zero knowledge (``ligero.open_products``).
PROTOCOL.md, "Committed tensors (Ligero)" and its "Hiding mode".
"""
