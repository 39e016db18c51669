"""Matrix product C = A @ B (Thaler 2013, "Time-optimal interactive proofs for circuit
evaluation", section 4; PROTOCOL.md "matmul").

A claim C~(z_i, z_l) = c becomes sum_k a[k] b[k] = c with a[k] = sum_i eq(z_i, i) A[i, k] and
b[k] = sum_l B[k, l] eq(z_l, l): one degree-2 sumcheck over k to a point r, ending in claims
A~(z_i, r) and B~(r, z_l). The prover's work beyond computing C is O(mk + kn): a and b come
from exact float64 BLAS on 16-bit limbs when entries are small.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import mle, sumcheck
from provers.gkr.circuit import MatMul
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed


def _split(layer_rows: int, claim: Claim) -> tuple[np.ndarray, np.ndarray]:
    row_vars = mle.log2_exact(layer_rows)
    return claim.point[:, :row_vars], claim.point[:, row_vars:]


def prove(layer: MatMul, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend) -> list[Claim]:
    a, b = values[layer.inputs[0]], values[layer.inputs[1]]
    z_i, z_l = _split(a.shape[0], claim)
    # a[k] = sum_i eq(z_i, i) A[i, k] and b[k] = sum_l B[k, l] eq(z_l, l)
    tables = [backend.row_combination(a, backend.eq_table(z_i)),
              backend.col_combination(b, backend.eq_table(z_l))]
    proof, r, finals = backend.prove_sumcheck(tables, claim.value, channel.transcript)
    channel.send_sumcheck(f"matmul/{layer.out}/sumcheck", proof)
    channel.send_ext(f"matmul/{layer.out}/evals", np.stack(finals, axis=1))
    return [Claim(layer.inputs[0], np.concatenate([z_i, r], axis=1), finals[0]),
            Claim(layer.inputs[1], np.concatenate([r, z_l], axis=1), finals[1])]


def verify(layer: MatMul, claim: Claim, tensors, channel) -> list[Claim]:
    m, k = tensors[layer.inputs[0]].padded
    z_i, z_l = _split(m, claim)
    k_vars = mle.log2_exact(k)
    proof = channel.recv_sumcheck(f"matmul/{layer.out}/sumcheck", k_vars, 2)
    r, final = sumcheck.verify(claim.value, k_vars, 2, proof, channel.transcript)
    evals = channel.recv_ext(f"matmul/{layer.out}/evals", 2)
    ea, eb = evals[:, 0].copy(), evals[:, 1].copy()
    if not sumcheck.check_final(final, [ea, eb]):
        raise SumcheckFailed(f"matmul layer {layer.out!r}")
    return [Claim(layer.inputs[0], np.concatenate([z_i, r], axis=1), ea),
            Claim(layer.inputs[1], np.concatenate([r, z_l], axis=1), eb)]
