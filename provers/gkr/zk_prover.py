"""Zero knowledge, the prover's side: the mask vector and its commitment, the masked
sumchecks every layer runs through ``ZkProver``, and the whole proof (``prove``).

PROTOCOL.md, "Zero knowledge"; the shared parts (layout, schedule, mask claims) in zk.py.
The proof's messages, in order: the statement (circuit digest, the weights' hiding
commitment, the input), the mask vector's root (its commitment's shape absorbed with it), the
output, then per layer from the output back its merge and its masked reduction, and the
zero-knowledge opening of every claim on the weights and every mask claim (zk_opening).
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import logup, zk_opening_prover, zk_sumcheck
from provers.gkr.backends import Backend
from provers.gkr.backends import get as get_backend
from provers.gkr.channel import MAGIC_ZK, ProverChannel
from provers.gkr.circuit import Circuit, lookup_mult
from provers.gkr.claim import Claim, prove_merge
from provers.gkr.committed import Layout
from provers.gkr.layers import REDUCTIONS
from provers.gkr.pcs import ligero
from provers.gkr.pcs.params import DEFAULT
from provers.gkr.statement import (
    absorb_advice_commitment,
    absorb_mask_commitment,
    absorb_output,
    bind_prefix,
)
from provers.gkr.zk import (
    LABEL_ROOT,
    MaskClaim,
    MaskCursor,
    MaskedTable,
    MaskLayout,
    claims_of,
    g_coefficients,
    g_functional,
    masked_degrees,
    output_functional,
    output_parts,
    shape_of,
)


class ZkProver:
    """The masked sumchecks of one proof, over one mask vector (runner.PlainProver's
    counterpart)."""

    masked = True

    def __init__(self, layout: MaskLayout, vector: np.ndarray) -> None:
        self.plan = layout.plan
        self.vector = vector
        self.cursor = MaskCursor(layout)

    def evaluate(self, name: str, value: np.ndarray, point: np.ndarray) -> np.ndarray:
        """T'(point) from T~(point) = ``value``: adds the tensor's mask there."""
        return F.ext_add(value, self.plan.evaluate(self.vector, name, point))

    def _line(self, m: MaskedTable, degree: int):
        def poly(point: np.ndarray) -> np.ndarray:
            prefix = np.concatenate([np.asarray(m.prefix, np.uint64), point], axis=1)
            return self.plan.line_polynomial(self.vector, m.tensor, prefix,
                                             np.asarray(m.suffix, np.uint64), degree)
        return poly

    def sumcheck(self, label: str, channel, backend, tables, terms, claim: np.ndarray,
                 masked: list[MaskedTable], outputs) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run one masked sumcheck (zk_sumcheck) and send it; returns (r, the tables' final
        values, masked tensors' as T'(point))."""
        num_vars = int(backend.size(tables[0])).bit_length() - 1
        term_list = zk_sumcheck.product_terms(len(tables)) if terms is None else terms
        shape = shape_of(label, self.plan, term_list, masked, num_vars)
        offset = self.cursor.next(shape)
        mask = zk_sumcheck.SumcheckMask(g_coefficients(self.vector, offset, shape))
        degrees = masked_degrees(self.plan, masked, num_vars)
        factors = [zk_sumcheck.MaskedFactor(m.table, degrees[m.table],
                                            self._line(m, degrees[m.table]))
                   for m in masked if m.table in degrees]
        outs = output_parts(self.plan, outputs)
        term = None
        if outs:
            a0, a1 = F.ext_zero(), F.ext_zero()
            for c, name, z in outs:
                h0, h1 = self.plan.output_term(self.vector, name, z)
                a0, a1 = F.ext_add(a0, F.ext_mul(c, h0)), F.ext_add(a1, F.ext_mul(c, h1))
            term = zk_sumcheck.OutputTerm(F.ext_one(), a0, a1)
        proof, r, finals, g_r, d = zk_sumcheck.prove(tables, terms, claim, channel.transcript,
                                                     mask, factors, term, backend)
        channel.send_sumcheck(label, proof)
        self.cursor.claims.append(MaskClaim(g_functional(offset, shape, r), g_r))
        if outs:
            self.cursor.claims.append(MaskClaim(output_functional(self.plan, outs, r[:, 0]),
                                                d))
        return r, finals


def commit_masks(layout: MaskLayout, vector: np.ndarray) -> ligero.CommittedMatrix:
    """The mask vector's hiding commitment; it carries the opening's mask rows (three: the
    proximity row's and the two products')."""
    return ligero.commit(F.decode(vector), layout.cols, DEFAULT, hiding=True, mask_rows=3)


def prove(circuit: Circuit, values: dict[str, np.ndarray], weights: Layout,
          matrix: ligero.CommittedMatrix, layout: MaskLayout,
          backend: Backend | None = None, vector: np.ndarray | None = None,
          advice: Layout | None = None) -> ProverChannel:
    """The zero-knowledge proof of the circuit on ``values`` with the weights committed
    (hiding) in ``matrix`` (laid out by ``weights``). ``vector``: the mask vector (default:
    fresh randomness; tests pass their own). ``advice``: the advice's layout (the same
    columns as the weights'), committed with hiding by the proof."""
    backend = backend or get_backend("cpu")
    transcript = bind_prefix(circuit, values[circuit.input],
                             commitment=matrix.commitment.to_bytes())
    channel = ProverChannel(transcript, MAGIC_ZK)
    committed = [(weights, matrix)]
    if advice is not None:
        advice_matrix = ligero.commit(advice.vector(values), advice.cols, DEFAULT,
                                      hiding=True, mask_rows=0)
        channel.send_bytes("advice/root", advice_matrix.commitment.root)
        absorb_advice_commitment(transcript, advice_matrix.commitment.to_bytes())
        committed.append((advice, advice_matrix))
    if vector is None:
        vector = F.secure_random(layout.size)
    masks = commit_masks(layout, vector)
    channel.send_bytes(LABEL_ROOT, masks.commitment.root)
    absorb_mask_commitment(transcript, masks.commitment.to_bytes())
    absorb_output(transcript, values[circuit.output])
    out = circuit.tensors[circuit.output]
    z = channel.challenges("output/point", out.num_vars)
    claims: dict[str, list[Claim]] = {
        out.name: [Claim(out.name, z, backend.evaluate(values[out.name], z))]}
    zk = ZkProver(layout, vector)
    for layer in reversed(circuit.layers):
        pending = claims.pop(layer.out)
        claim = pending[0] if len(pending) == 1 else prove_merge(
            pending, values[layer.out], channel, backend, zk)
        for new in REDUCTIONS[layer.kind].prove(layer, claim, values, circuit.tensors,
                                                channel, backend, zk):
            claims.setdefault(new.tensor, []).append(new)
    for bits, names in circuit.lookups().items():
        mult = lookup_mult(bits)
        made, (zm, ym) = logup.prove_zk([values[n] for n in names], values[mult], bits,
                                        f"lookup/{bits}", channel, backend, zk, names, mult)
        for name, (point, value) in zip(names, made, strict=True):
            claims.setdefault(name, []).append(Claim(name, point, value))
        claims.setdefault(mult, []).append(Claim(mult, zm, ym))
    opening = claims_of(layout, [lay for lay, _ in committed], claims, zk.cursor.claims)
    offset = zk.cursor.next(layout.shapes[-1])
    zk.cursor.done()
    g_col = zk_sumcheck.SumcheckMask(g_coefficients(vector, offset, layout.shapes[-1]))
    zk_opening_prover.prove([masks] + [m for _, m in committed], opening, g_col,
                            (layout.opening_row, 0), channel)
    return channel
