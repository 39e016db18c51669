"""The GKR prover's array backends: the torch code (run here on torch's CPU device, on a GPU
as ``cuda``) against the numpy/numba path, kernel by kernel and proof byte by proof byte, and
the ``cuda`` backend's refusal to run without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provers.base import Unsupported
from provers.gkr import backends, mle, sumcheck, verifier
from provers.gkr import field as F
from provers.gkr import prover as gkr_prover
from provers.gkr import tensor as T
from provers.gkr.adapter import GkrProver
from provers.gkr.compile import compile_model, tensor_values
from provers.gkr.transcript import Transcript
from tests.gkr.test_protocol import KINDS, random_model
from zkbench import registry
from zkbench.cell import build
from zkbench.testing import prepare

torch = pytest.importorskip("torch")
tf = pytest.importorskip("provers.gkr.backends.torchfield")

CPU = backends.get("cpu")
EMU = backends.get("torch-cpu")
HAS_GPU = backends.unavailable("cuda") is None
REPO = Path(__file__).resolve().parents[2]
SMALLEST = [(w, registry.create_workload(w).quick_sizes()[0]) for w in registry.workload_names()]


def dev(a: np.ndarray):
    return tf.to_device(a, "cpu")


def host(t) -> np.ndarray:
    return tf.to_host(t)


# ------------------------------------------------------------------------- whole proofs


@pytest.mark.parametrize(("workload", "size"), SMALLEST)
def test_torch_proofs_are_byte_identical_on_every_workload(workload, size, tmp_path):
    ref = prepare("gkr", workload, size, backend="cpu", workdir=tmp_path / "cpu")
    emu = prepare("gkr", workload, size, backend="torch-cpu", workdir=tmp_path / "torch")
    assert emu.prover.backend_used == "torch-cpu"
    assert len(emu.proof.data) == len(ref.proof.data)
    assert emu.proof.data == ref.proof.data
    assert emu.prover.verify(emu.artifact, emu.keys, emu.proof) is True


@pytest.mark.parametrize("kind", KINDS)
def test_torch_proofs_are_byte_identical_on_every_layer_kind(kind):
    """Random small circuits (odd sizes, merges, windows, signs) through both backends."""
    rng = np.random.default_rng(7)
    model = random_model(kind, rng)
    circuit = compile_model(model)
    x = rng.integers(-127, 128, model.input_shape)
    values = tensor_values(model, circuit, x)
    ref = gkr_prover.prove(circuit, values).proof_bytes()
    emu = gkr_prover.prove(circuit, values, backend=EMU).proof_bytes()
    assert emu == ref
    assert verifier.verify(circuit, x, model.output(x), emu) is True


# ------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("n", [1, 5, 64])
def test_field_ops_match_numpy(n):
    rng = np.random.default_rng(n)
    a, b = F.random(rng, (n,)), F.random(rng, (n,))
    e, f = F.ext_random(rng, (n,)), F.ext_random(rng, (n,))
    edge = np.array([0, 1, F.P - 1] * n, np.uint64)[:n]  # the extremes of the range
    for x, y in ((a, b), (edge, edge), (a, edge)):
        assert (host(tf.add(dev(x), dev(y))) == F.add(x, y)).all()
        assert (host(tf.sub(dev(x), dev(y))) == F.sub(x, y)).all()
        assert (host(tf.mul(dev(x), dev(y))) == F.mul(x, y)).all()
    assert (host(tf.ext_mul(dev(e), dev(f))) == F.ext_mul(e, f)).all()
    c = F.ext_random(rng)
    assert (host(tf.ext_mul(dev(e), tf.ext_const(c, "cpu", 1))) == F.ext_mul(e, c)).all()
    assert (host(tf.ext_mul_base(dev(e), dev(a))) == F.ext_mul_base(e, a)).all()
    assert (host(tf.ext_total(dev(e))) == F.ext_sum_all(e)).all()
    assert (host(tf.ext_dot(dev(e), dev(f))) == F.ext_sum_all(F.ext_mul(e, f))).all()
    assert (host(tf.encode(torch.tensor([-5, 0, 7]))) == F.encode([-5, 0, 7])).all()


def test_ext_mul_in_chunks(monkeypatch):
    monkeypatch.setattr(tf, "CHUNK", 7)
    rng = np.random.default_rng(1)
    e, f = F.ext_random(rng, (50,)), F.ext_random(rng, (50,))
    assert (host(tf.ext_mul(dev(e), dev(f))) == F.ext_mul(e, f)).all()
    assert (host(tf.ext_dot(dev(e), dev(f))) == F.ext_sum_all(F.ext_mul(e, f))).all()


@pytest.mark.parametrize("v", [0, 1, 6])
def test_eq_fold_and_evaluate_match_numpy(v):
    rng = np.random.default_rng(v)
    z = F.ext_random(rng, (v,))
    assert (host(tf.eq_table(z, "cpu")) == mle.eq_table(z)).all()
    base, ext = F.random(rng, (1 << v,)), F.ext_random(rng, (1 << v,))
    assert (host(tf.evaluate(dev(base), z)) == mle.evaluate(base, z)).all()
    assert (host(tf.evaluate(dev(ext), z)) == mle.evaluate(ext, z)).all()
    if v:
        r = F.ext_random(rng)
        h = 1 << (v - 1)
        r_dev = tf.ext_const(r, "cpu", 1)
        assert (host(tf.fold(dev(base), h, r_dev)) == mle.fold(base, r)).all()
        assert (host(tf.fold(dev(ext), h, r_dev)) == mle.fold(ext, r)).all()


@pytest.mark.parametrize("bound", [2, 128, 2**15, 2**20, 2**40])
def test_limb_contractions_match_numpy(bound, monkeypatch):
    """Small entries (one float64 limb) and large ones (split residues), several chunks."""
    monkeypatch.setattr(tf, "LIMB_ROWS", 16)
    rng = np.random.default_rng(bound)
    m = rng.integers(-bound + 1, bound, (37, 9))
    e_rows, e_cols = F.ext_random(rng, (37,)), F.ext_random(rng, (9,))
    assert (host(EMU.row_combination(m, dev(e_rows))) == CPU.row_combination(m, e_rows)).all()
    assert (host(EMU.col_combination(m, dev(e_cols))) == CPU.col_combination(m, e_cols)).all()
    values = T.pad(rng.integers(-bound + 1, bound, (6, 5)))  # padded to 8 x 8
    z = F.ext_random(rng, (6,))
    assert (EMU.evaluate(values, z) == CPU.evaluate(values, z)).all()


def test_merge_weights_and_scatter_match_numpy():
    rng = np.random.default_rng(3)
    points = [F.ext_random(rng, (5,)) for _ in range(3)]
    coeffs = [F.ext_random(rng) for _ in range(3)]
    assert (host(EMU.eq_combination(points, coeffs)) == CPU.eq_combination(points, coeffs)).all()
    weights = F.ext_random(rng, (40,))
    targets = rng.permutation(40)[:30]
    sources = rng.integers(0, 12, 30)  # several targets per source
    got = EMU.scatter(dev(weights), targets, sources, 12)
    assert (host(got) == CPU.scatter(weights, targets, sources, 12)).all()


def _tables(rng, kinds: str, v: int) -> list[np.ndarray]:
    return [F.ext_random(rng, (1 << v,)) if k == "e" else F.random(rng, (1 << v,))
            for k in kinds]


def _same(a, b) -> None:
    (proof_a, r_a, finals_a), (proof_b, r_b, finals_b) = a, b
    assert proof_a.to_bytes() == proof_b.to_bytes()
    assert (r_a == r_b).all()
    assert all((x == y).all() for x, y in zip(finals_a, finals_b, strict=True))


@pytest.mark.parametrize("kinds", ["e", "b", "ee", "eb", "bb", "eee", "eeb", "ebb", "bbb"])
@pytest.mark.parametrize("v", [0, 1, 7])
def test_sumcheck_matches_numpy(kinds, v):
    rng = np.random.default_rng(len(kinds) * 10 + v)
    tables = _tables(rng, kinds, v)
    claim = F.ext_random(rng)  # any claim: a wrong one still gives a (rejected) proof
    ref = sumcheck.prove(tables, claim, Transcript("t"))
    _same(EMU.prove_sumcheck([dev(t) for t in tables], claim, Transcript("t")), ref)


def test_sumcheck_rounds_in_chunks(monkeypatch):
    monkeypatch.setattr(tf, "CHUNK", 12)
    rng = np.random.default_rng(5)
    tables = _tables(rng, "eeb", 6)
    ref = sumcheck.prove(tables, F.ext_zero(), Transcript("t"))
    _same(EMU.prove_sumcheck([dev(t) for t in tables], F.ext_zero(), Transcript("t")), ref)


def _terms(rng, spec: list[tuple[int, ...]]) -> list:
    return [(F.ext_random(rng), idx) for idx in spec]


TERM_SHAPES = [
    [(0, 1), (0, 2), (0, 3, 3), (0, 3), (1, 2)],  # a shared factor, a square, a cross term
    [(0, 1, 1), (0, 1)],  # booleanity
    [(1,), (2,), (3,)],  # linear only
    [(0, 1, 2), (1, 2, 3)],  # cubic monomials, nothing shared by all
    [(0, 1), (2, 3)],  # two products, no shared table
]


@pytest.mark.parametrize("spec", TERM_SHAPES)
@pytest.mark.parametrize("kinds", ["ebbb", "eeee", "bbbb"])
def test_prove_terms_matches_numpy(spec, kinds):
    rng = np.random.default_rng(11)
    tables = _tables(rng, kinds, 5)
    terms = _terms(rng, spec)
    claim = F.ext_random(rng)
    ref = sumcheck.prove_terms(tables, terms, claim, Transcript("t"))
    _same(EMU.prove_terms([dev(t) for t in tables], terms, claim, Transcript("t")), ref)


def test_prove_terms_constant_coefficients_and_base_forms():
    """Base coefficients of base tables make base linear forms; 1 and -1 constants."""
    rng = np.random.default_rng(12)
    tables = _tables(rng, "ebbb", 4)
    one, minus = F.ext_one(), F.ext_from_base(np.uint64(F.P - 1))
    two = F.ext_from_base(np.uint64(2))
    terms = [(one, (0, 1)), (two, (0, 2)), (minus, (0,)), (one, (0, 3, 3))]
    ref = sumcheck.prove_terms(tables, terms, F.ext_zero(), Transcript("t"))
    _same(EMU.prove_terms([dev(t) for t in tables], terms, F.ext_zero(), Transcript("t")), ref)


# ------------------------------------------------------------------------- cuda without a GPU


@pytest.mark.skipif(HAS_GPU, reason="a GPU is present: cuda runs")
def test_cuda_without_a_gpu_is_unavailable_never_a_cpu_run(tmp_path):
    prover = GkrProver(backend="cuda")
    reason = prover.available()
    assert reason and "GPU" in reason
    assert prover.backend_used is None
    assert "cuda" in prover.capabilities().backends
    with pytest.raises(backends.BackendUnavailable, match="GPU"):
        backends.get("cuda")
    with pytest.raises(Unsupported, match="GPU"):
        prover.compile(None, tmp_path)


def test_unknown_backend_is_named():
    assert "known: cpu, torch-cpu, cuda" in backends.unavailable("tpu")
    qmodel = build(registry.create_workload("matmul"), "n=16", 0)[2]
    reason = GkrProver(backend="tpu").skip_reason(qmodel, "n=16", "tpu")
    assert "tpu" in reason and "cuda" in reason


def _zkbench(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "zkbench.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_list_shows_gkr_backends_and_the_gpu(tmp_path):
    r = _zkbench("list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    gkr = next(line for line in r.stdout.splitlines() if line.strip().startswith("gkr "))
    assert "backends cpu, torch-cpu, cuda" in gkr
    assert "GPU: " in r.stdout
    if not HAS_GPU:
        assert "backend cuda unavailable here: no CUDA GPU" in r.stdout


@pytest.mark.skipif(HAS_GPU, reason="a GPU is present: cuda runs")
def test_device_cuda_is_the_cuda_backend_and_skips_without_a_gpu(tmp_path):
    r = _zkbench("run", "--provers", "gkr", "--workloads", "matmul", "--sizes", "n=16",
                 "--device", "cuda", "--out", "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").open()]
    assert [(row["backend_requested"], row["status"]) for row in rows] == [("cuda", "skip")]
    assert "GPU" in rows[0]["status_reason"]
    assert rows[0]["backend_used"] is None and rows[0].get("wall_s") is None
    r = _zkbench("run", "--device", "cuda", "--backend", "torch-cpu", cwd=tmp_path)
    assert r.returncode == 2 and "disagree" in r.stderr


# ------------------------------------------------------------------------- on a GPU


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU")
@pytest.mark.parametrize(("workload", "size"), SMALLEST)
def test_cuda_proofs_are_byte_identical(workload, size, tmp_path):
    ref = prepare("gkr", workload, size, backend="cpu", workdir=tmp_path / "cpu")
    gpu = prepare("gkr", workload, size, backend="cuda", workdir=tmp_path / "cuda")
    assert gpu.prover.backend_used == "cuda"
    assert gpu.proof.data == ref.proof.data
