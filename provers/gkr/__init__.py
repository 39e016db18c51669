"""The reference GKR prover: BabyBear field, multilinear extensions, Fiat-Shamir, sumcheck."""
