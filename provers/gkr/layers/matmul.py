"""Matrix product C = A @ B (Thaler 2013, "Time-optimal interactive proofs for circuit
evaluation", section 4; PROTOCOL.md "matmul").

A claim C~(z_i, z_l) = c becomes sum_k a[k] b[k] = c with a[k] = sum_i eq(z_i, i) A[i, k] and
b[k] = sum_l B[k, l] eq(z_l, l): one degree-2 sumcheck over k to a point r, ending in claims
A~(z_i, r) and B~(r, z_l). The prover's work beyond computing C is O(mk + kn): a and b come
from exact float64 BLAS on 16-bit limbs when entries are small. In a zero-knowledge proof a is
A'(z_i, .) and b is B'(., z_l) (runner.py; the masks enter the last round).
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck, zk_sumcheck
from provers.gkr.circuit import MatMul
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed
from provers.gkr.runner import PLAIN_PROVER, PLAIN_VERIFIER, MaskedTable
from provers.gkr.zk import shape_of


def _split(layer_rows: int, claim: Claim) -> tuple[np.ndarray, np.ndarray]:
    row_vars = mle.log2_exact(layer_rows)
    return claim.point[:, :row_vars], claim.point[:, row_vars:]


def _masked(layer: MatMul, z_i: np.ndarray, z_l: np.ndarray) -> list[MaskedTable]:
    """a[k] is A(z_i, k) and b[k] is B(k, z_l)."""
    empty = F.ext_zero((0,))
    return [MaskedTable(0, layer.inputs[0], z_i, empty),
            MaskedTable(1, layer.inputs[1], empty, z_l)]


def _label(layer: MatMul) -> str:
    return f"matmul/{layer.out}/sumcheck"


def prove(layer: MatMul, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend, run=PLAIN_PROVER) -> list[Claim]:
    a, b = values[layer.inputs[0]], values[layer.inputs[1]]
    z_i, z_l = _split(a.shape[0], claim)
    # a[k] = sum_i eq(z_i, i) A[i, k] and b[k] = sum_l B[k, l] eq(z_l, l)
    tables = [backend.row_combination(a, backend.eq_table(z_i)),
              backend.col_combination(b, backend.eq_table(z_l))]
    r, finals = run.sumcheck(_label(layer), channel, backend, tables, None, claim.value,
                             _masked(layer, z_i, z_l), [(F.ext_one(), layer.out, claim.point)])
    channel.send_ext(f"matmul/{layer.out}/evals", np.stack(finals, axis=1))
    return [Claim(layer.inputs[0], np.concatenate([z_i, r], axis=1), finals[0]),
            Claim(layer.inputs[1], np.concatenate([r, z_l], axis=1), finals[1])]


def verify(layer: MatMul, claim: Claim, tensors, channel, run=PLAIN_VERIFIER) -> list[Claim]:
    m, k = tensors[layer.inputs[0]].padded
    z_i, z_l = _split(m, claim)
    r, final = run.sumcheck(_label(layer), channel, claim.value, mle.log2_exact(k),
                            zk_sumcheck.product_terms(2), _masked(layer, z_i, z_l),
                            [(F.ext_one(), layer.out, claim.point)])
    evals = channel.recv_ext(f"matmul/{layer.out}/evals", 2)
    ea, eb = evals[:, 0].copy(), evals[:, 1].copy()
    if not sumcheck.check_final(final, [ea, eb]):
        raise SumcheckFailed(f"matmul layer {layer.out!r}")
    return [Claim(layer.inputs[0], np.concatenate([z_i, r], axis=1), ea),
            Claim(layer.inputs[1], np.concatenate([r, z_l], axis=1), eb)]


def zk_shapes(layer: MatMul, tensors, plan) -> list:
    m, k = tensors[layer.inputs[0]].padded
    n = tensors[layer.inputs[1]].padded[1]
    z_i, z_l = F.ext_zero((mle.log2_exact(m),)), F.ext_zero((mle.log2_exact(n),))
    return [shape_of(_label(layer), plan, zk_sumcheck.product_terms(2),
                     _masked(layer, z_i, z_l), mle.log2_exact(k))]
