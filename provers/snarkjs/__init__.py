"""``snarkjs-groth16``: circuits written in circom 2, proved with snarkjs's Groth16 (BN254)."""
