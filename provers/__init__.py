"""Provers: the reference GKR prover, the baselines and the peer adapters."""
