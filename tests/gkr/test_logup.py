"""The LogUp-GKR range check (provers/gkr/logup.py) on its own: completeness on random
instances (values at 0 and 2^L - 1 included), each soundness case with its own rejection,
the forgery a transcript without the root fractions allows, and the backends' agreement."""

from __future__ import annotations

import numpy as np
import pytest

from provers.gkr import backends, logup
from provers.gkr import field as F
from provers.gkr import tensor as T
from provers.gkr.channel import ProverChannel, VerifierChannel, new_transcript
from provers.gkr.errors import ClaimMismatch, RangeCheckFailed, SumcheckFailed

CPU = backends.get("cpu")
LABEL = "test/logup"


def instance(rng, num_vars: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    values = rng.integers(0, 1 << bits, 1 << num_vars)
    values[0], values[-1] = 0, (1 << bits) - 1
    return values, multiplicities(values, bits)


def multiplicities(values: np.ndarray, bits: int) -> np.ndarray:
    return np.bincount(np.clip(values, 0, (1 << bits) - 1), minlength=1 << bits)


def _listed(values) -> list[np.ndarray]:
    return values if isinstance(values, list) else [values]


def prove(values, mult, bits, omit=frozenset(), backend=CPU) -> tuple[bytes, tuple]:
    """``values``: one tensor or a list of them (checked together)."""
    channel = ProverChannel(new_transcript(), omit=omit)
    claims = logup.prove(_listed(values), mult, bits, LABEL, channel, backend)
    return channel.proof_bytes(), claims, channel


def verify(proof: bytes, num_vars, bits: int, values, mult, omit=frozenset()) -> None:
    """The verifier's run, with its final claims checked against the true tensors (as the
    circuit's verifier or the advice opening would). ``num_vars``: one count or a list."""
    channel = VerifierChannel(new_transcript(), proof, omit=omit)
    sizes = [1 << v for v in (num_vars if isinstance(num_vars, list) else [num_vars])]
    claims, (zm, ym) = logup.verify(sizes, bits, LABEL, channel)
    channel.finish()
    for tensor, (za, ya) in zip(_listed(values), claims, strict=True):
        assert F.ext_eq(T.evaluate(tensor, za), ya), "claim on the values"
    assert F.ext_eq(T.evaluate(mult, zm), ym), "claim on the multiplicities"


@pytest.mark.parametrize(("num_vars", "bits"), [(0, 1), (1, 1), (3, 2), (6, 4), (9, 3),
                                                (4, 8), (11, 5)])
@pytest.mark.parametrize("seed", range(2))
def test_completeness(num_vars, bits, seed):
    rng = np.random.default_rng([num_vars, bits, seed])
    values, mult = instance(rng, num_vars, bits)
    proof, _, _ = prove(values, mult, bits)
    verify(proof, num_vars, bits, values, mult)


def test_table_eval_is_the_mle_of_the_identity():
    rng = np.random.default_rng(1)
    z = F.ext_random(rng, (6,))
    assert F.ext_eq(logup.table_eval(z), T.evaluate(np.arange(64), z))


@pytest.mark.parametrize("bad", [16, -1, 1 << 20, F.P // 2])
def test_value_out_of_range_is_rejected_with_any_multiplicities(bad):
    rng = np.random.default_rng(2)
    values, mult = instance(rng, 5, 4)
    values[7] = bad
    for m in (multiplicities(values, 4), mult, np.zeros_like(mult),
              rng.integers(0, 40, mult.size)):
        proof, _, _ = prove(values, m, 4)
        with pytest.raises(RangeCheckFailed, match="sums differ"):
            verify(proof, 5, 4, values, m)


def test_wrong_multiplicity_is_rejected():
    rng = np.random.default_rng(3)
    values, mult = instance(rng, 6, 3)
    for j, delta in ((0, 1), (5, -1), (7, F.P - 1)):
        m = mult.copy()
        m[j] += delta
        proof, _, _ = prove(values, m, 3)
        with pytest.raises(RangeCheckFailed, match="sums differ"):
            verify(proof, 6, 3, values, m)


def _bump_ext(proof: bytes, start: int) -> bytes:
    out = bytearray(proof)
    value = int.from_bytes(out[start:start + 4], "little")
    out[start:start + 4] = ((value + 1) % F.P).to_bytes(4, "little")
    return bytes(out)


def test_changed_root_fraction_is_rejected():
    rng = np.random.default_rng(4)
    values, mult = instance(rng, 5, 3)
    proof, _, channel = prove(values, mult, 3)
    (start, _end), = [(s, e) for label, s, e in channel.layout if label.endswith("/roots")]
    for k in range(4):  # P_a, Q_a, P_t, Q_t in turn
        with pytest.raises(RangeCheckFailed, match="sums differ"):
            verify(_bump_ext(proof, start + 16 * k), 5, 3, values, mult)


def test_changed_layer_claim_is_rejected():
    rng = np.random.default_rng(5)
    values, mult = instance(rng, 5, 3)
    proof, _, channel = prove(values, mult, 3)
    evals = [(label, s, e) for label, s, e in channel.layout if label.endswith("level-evals")]
    assert len(evals) == 5 + 3
    for _label, start, end in evals:
        for offset in range(start, end, 16):
            with pytest.raises(SumcheckFailed, match="fraction level"):
                verify(_bump_ext(proof, offset), 5, 3, values, mult)


def _forged_proof(values, mult, bits, omit) -> bytes:
    """A prover holding a value out of range: it sends the true values' tree but a forged
    values root (P', Q') with P'/Q' = P_t/Q_t and P' + lambda Q' = P + lambda Q, which it can
    only solve for once it knows the first level's lambda: possible when the roots are not
    in the transcript (lambda then does not depend on them)."""
    channel = ProverChannel(new_transcript(), omit=omit)
    backend = CPU
    a, m = backend.table(values), backend.table(mult)
    alpha = channel.challenge(f"{LABEL}/alpha")
    table = backend.table(np.arange(1 << bits))
    a_levels = logup._levels(backend, None, backend.alpha_minus(alpha, a), 5)
    t_levels = logup._levels(backend, m, backend.alpha_minus(alpha, table), bits)
    (pa, qa), (pt, qt) = ((p[:, 0], q[:, 0]) for p, q in (a_levels[0], t_levels[0]))
    # lambda is drawn right after the roots: peek at it on a copy of the transcript
    peek = channel.transcript.copy()
    if "roots" not in omit:
        peek.absorb_ext(f"{LABEL}/roots".encode(), np.stack([pa, qa, pt, qt], axis=1))
    lam = peek.challenge_ext(f"{LABEL}/values/lambda".encode())
    # Q' = (P + lambda Q) Q_t / (P_t + lambda Q_t), P' = P_t Q' / Q_t
    target = F.ext_add(pa, F.ext_mul(lam, qa))
    q_forged = F.ext_mul(F.ext_mul(target, qt), F.ext_inv(F.ext_add(pt, F.ext_mul(lam, qt))))
    p_forged = F.ext_mul(F.ext_mul(pt, q_forged), F.ext_inv(qt))
    channel.send_ext(f"{LABEL}/roots", np.stack([p_forged, q_forged, pt, qt], axis=1))
    logup._prove_tree(a_levels, [a], lambda lam_: logup._values_leaf_terms(alpha, lam_),
                      (p_forged, q_forged), f"{LABEL}/values", channel, backend)
    logup._prove_tree(t_levels, [m, table], lambda lam_: logup._table_leaf_terms(alpha, lam_),
                      (pt, qt), f"{LABEL}/table", channel, backend)
    return channel.proof_bytes()


def test_roots_left_out_of_the_transcript_allow_a_forgery():
    rng = np.random.default_rng(6)
    values, _ = instance(rng, 5, 3)
    values[3] = 100  # out of range
    mult = multiplicities(values, 3)
    weak = frozenset({"roots"})
    forged = _forged_proof(values, mult, 3, weak)
    verify(forged, 5, 3, values, mult, omit=weak)  # the weakened verifier accepts
    with pytest.raises(SumcheckFailed, match="fraction level 0"):
        verify(forged, 5, 3, values, mult)
    with pytest.raises(SumcheckFailed, match="fraction level 0"):
        verify(_forged_proof(values, mult, 3, frozenset()), 5, 3, values, mult)


def test_error_terms_count_lookups_table_and_levels():
    assert logup.error_terms([16], 3) == 16 + 8 + sum(3 * k + 2 for k in range(4)) + sum(
        3 * k + 2 for k in range(3))


@pytest.mark.parametrize(("num_vars", "bits"), [(0, 2), (7, 5)])
def test_torch_backend_writes_the_same_proof(num_vars, bits):
    pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    values, mult = instance(rng, num_vars, bits)
    ref, claims, _ = prove(values, mult, bits)
    emu, claims_emu, _ = prove(values, mult, bits, backend=backends.get("torch-cpu"))
    assert emu == ref
    for (z, y), (z2, y2) in zip([*claims[0], claims[1]], [*claims_emu[0], claims_emu[1]],
                                strict=True):
        assert F.ext_eq(z, z2) and F.ext_eq(y, y2)


@pytest.mark.parametrize("sizes", [[8], [4, 4], [32, 8, 1, 64, 8, 2], [16, 16, 16], [1, 1, 1]])
def test_chunks_tile_each_tree_exactly(sizes):
    """Every tensor in exactly one tree, each tree a power of two filled without a gap, each
    tensor at a multiple of its size, the trees' sizes the binary digits of the total."""
    runs = logup.chunks(sizes)
    assert sorted(i for run in runs for i, _ in run) == list(range(len(sizes)))
    widths = []
    for run in runs:
        filled = 0
        for i, offset in run:
            assert offset == filled and offset % sizes[i] == 0
            filled += sizes[i]
        assert filled & (filled - 1) == 0
        widths.append(filled)
    assert widths == sorted(widths, reverse=True) and sum(widths) == sum(sizes)
    assert len(widths) == bin(sum(sizes)).count("1")


def group(rng, num_vars: list[int], bits: int) -> tuple[list[np.ndarray], np.ndarray]:
    values = [rng.integers(0, 1 << bits, 1 << v) for v in num_vars]
    return values, logup.multiplicities(values, bits)


GROUPS = [[5, 3, 0, 6, 3, 1], [4, 4, 4], [0, 0, 0]]


@pytest.mark.parametrize("num_vars", GROUPS)
def test_tensors_checked_together(num_vars):
    rng = np.random.default_rng(sum(num_vars))
    values, mult = group(rng, num_vars, 3)
    proof, _, _ = prove(values, mult, 3)
    verify(proof, num_vars, 3, values, mult)


@pytest.mark.parametrize("which", range(6))
def test_value_out_of_range_in_any_tensor_of_a_group_is_rejected(which):
    rng = np.random.default_rng(8)
    values, _ = group(rng, GROUPS[0], 3)
    values[which][-1] = 8
    mult = logup.multiplicities([np.clip(v, 0, 7) for v in values], 3)
    proof, _, _ = prove(values, mult, 3)
    with pytest.raises(RangeCheckFailed, match="sums differ"):
        verify(proof, GROUPS[0], 3, values, mult)


def test_changed_tensor_value_is_rejected():
    """The values each tensor of a tree claims must add up to the tree's leaf claim."""
    rng = np.random.default_rng(9)
    values, mult = group(rng, GROUPS[0], 3)
    proof, _, channel = prove(values, mult, 3)
    spans = [(s, e) for label, s, e in channel.layout if label.endswith("/members")]
    assert spans
    for start, end in spans:
        for offset in range(start, end, 16):
            with pytest.raises(ClaimMismatch, match="values tree"):
                verify(_bump_ext(proof, offset), GROUPS[0], 3, values, mult)


def test_torch_backend_writes_the_same_group_proof():
    pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    values, mult = group(rng, GROUPS[0], 4)
    ref, _, _ = prove(values, mult, 4)
    assert prove(values, mult, 4, backend=backends.get("torch-cpu"))[0] == ref
