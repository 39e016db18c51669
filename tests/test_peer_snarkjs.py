"""``snarkjs-groth16``: circuit generator, soundness of its advice, conformance, real runs.

Needs node and npm (the prover installs circom2 and snarkjs into its cache on first use); the
whole module skips cleanly without them.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provers.snarkjs import circuit as C
from provers.snarkjs import formats, tools
from provers.snarkjs.adapter import SnarkjsGroth16Prover, ceremony_limit
from zkbench.qmodel import QNode, QuantizedModel
from zkbench.testing import ProverConformance

pytestmark = pytest.mark.peers

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def node_tools() -> None:
    reason = tools.ensure_installed()
    if reason:
        pytest.skip(f"snarkjs-groth16 unavailable here: {reason}")


# --- hand-built models, one per feature, with sound static bounds ----------------------------

def _bounds(nodes: list[QNode], consts: dict[str, np.ndarray], shapes_in: dict[str, int]
            ) -> dict[str, int]:
    """Interval bounds on |value| for every tensor (input bound given), op by op."""
    b = dict(shapes_in)
    b.update({k: int(np.abs(v).max()) for k, v in consts.items()})
    for n in nodes:
        a = [b[i] for i in n.inputs]
        if n.op == "matmul":
            k = (consts[n.inputs[1]].shape[0] if n.inputs[1] in consts
                 else consts[n.inputs[0]].shape[-1] if n.inputs[0] in consts else 8)
            b[n.output] = k * a[0] * a[1]
        elif n.op in ("add",):
            b[n.output] = a[0] + a[1]
        elif n.op == "mul":
            b[n.output] = a[0] * a[1]
        elif n.op == "mulconst":
            b[n.output] = a[0] * abs(int(n.attrs["c"]))
        elif n.op == "addconst":
            b[n.output] = a[0] + abs(int(n.attrs["c"]))
        elif n.op == "sign":
            b[n.output] = 1
        elif n.op == "rescale":
            b[n.output] = (a[0] >> int(n.attrs["shift"])) + 1
        else:  # relu, rearrange
            b[n.output] = a[0]
    return b


def model(kind: str) -> QuantizedModel:
    rng = np.random.default_rng(7)
    shape = (4, 8)
    consts = {"W": rng.integers(-60, 61, (8, 6)), "b": rng.integers(-900, 901, (6,)),
              "L": rng.integers(-9, 10, (3, 4))}
    if kind == "rescale":  # every residue mod 4 and its rounding, negatives included
        nodes = [QNode("rescale", ("x",), "y", "rescale", {"shift": 2})]
    elif kind == "relu-rescale":  # Gemm, bias, ReLU, rescale: one fused Requant
        nodes = [QNode("matmul", ("x", "W"), "h", "mm"), QNode("add", ("h", "b"), "hb", "bias"),
                 QNode("relu", ("hb",), "hr", "relu"),
                 QNode("rescale", ("hr",), "y", "rescale", {"shift": 6})]
    elif kind == "rescale-relu":  # the other order, also fused
        nodes = [QNode("matmul", ("x", "W"), "h", "mm"),
                 QNode("rescale", ("h",), "hs", "rescale", {"shift": 5}),
                 QNode("relu", ("hs",), "y", "relu")]
    elif kind == "sign":
        nodes = [QNode("addconst", ("x",), "xs", "shift", {"c": -3}),
                 QNode("sign", ("xs",), "y", "sign")]
    else:  # "wiring": const @ act, act @ act, mul, mulconst, residual add, padded windows
        window = np.full((4, 10), -1)
        window[:, 1:9] = np.arange(32).reshape(4, 8)
        nodes = [QNode("matmul", ("L", "x"), "lx", "left"),             # (3, 8)
                 QNode("rearrange", ("x",), "xt", "transpose",
                       {"index": np.arange(32).reshape(4, 8).T.copy()}),  # (8, 4)
                 QNode("matmul", ("lx", "xt"), "g", "gram"),            # (3, 4) act @ act
                 QNode("mul", ("g", "g"), "g2", "square"),
                 QNode("mulconst", ("g2",), "g3", "neg", {"c": -2}),
                 QNode("rearrange", ("x",), "pad", "pad", {"index": window}),  # (4, 10)
                 QNode("relu", ("pad",), "padr", "relu"),
                 QNode("rearrange", ("padr",), "p3", "rows",
                       {"index": np.arange(12).reshape(3, 4)}),
                 QNode("add", ("g3", "p3"), "y", "residual")]
    bounds = _bounds(nodes, consts, {"x": 127})
    used = {i for n in nodes for i in n.inputs}
    return QuantizedModel(name=f"hand-{kind}", input_name="x", input_shape=shape,
                          output_name="y", bits=8, nodes=tuple(nodes),
                          constants={k: v for k, v in consts.items() if k in used},
                          scale_bits={}, bounds=bounds)


KINDS = ("rescale", "relu-rescale", "rescale-relu", "sign", "wiring")


def inputs(rng: np.random.Generator) -> list[np.ndarray]:
    ties = np.arange(-16, 16).reshape(4, 8)  # x = 2 mod 4 rounds half up, also below zero
    return [ties, np.full((4, 8), -127), np.full((4, 8), 127),
            rng.integers(-127, 128, (4, 8)), rng.integers(-127, 128, (4, 8))]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict:
    prover = SnarkjsGroth16Prover()
    return {kind: prover.compile(model(kind), tmp_path_factory.mktemp(kind)) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_circuit_witness_equals_integer_inference(kind: str, compiled: dict) -> None:
    prover, qmodel = SnarkjsGroth16Prover(), model(kind)
    seen_negative = False
    for x in inputs(np.random.default_rng(1)):
        got = prover.witness(compiled[kind], x).statement.output
        expected = qmodel.output(x)
        assert np.array_equal(got, expected), f"{kind}: circuit {got} != run {expected}"
        seen_negative |= bool((expected < 0).any())
    if kind in ("rescale", "wiring"):
        assert seen_negative  # the cases exercise negative values through the field offset


def test_fused_requant_is_one_range_check() -> None:
    fused = C.generate(model("relu-rescale"))
    assert fused.source.count("component q") == 1
    assert "Requant(24, " in fused.source


def test_generator_refuses_too_wide_range_checks() -> None:
    wide = model("rescale")
    wide.bounds["x"] = 2**260
    with pytest.raises(C.CircuitError, match="node 'rescale'"):
        C.generate(wide)


# --- soundness: every advice value is pinned by the constraints -------------------------------

def read_constraints(r1cs: Path) -> tuple[int, list]:
    data = r1cs.read_bytes()
    (count,) = struct.unpack_from("<I", data, 8)
    pos, sections = 12, {}
    for _ in range(count):
        kind, size = struct.unpack_from("<IQ", data, pos)
        sections[kind] = data[pos + 12:pos + 12 + size]
        pos += 12 + size
    (n8,) = struct.unpack_from("<I", sections[1], 0)
    (m,) = struct.unpack_from("<I", sections[1], 4 + n8 + 24)
    body, at, constraints = sections[2], 0, []
    for _ in range(m):
        lcs = []
        for _ in range(3):
            (terms,) = struct.unpack_from("<I", body, at)
            at += 4
            lc = []
            for _ in range(terms):
                (wire,) = struct.unpack_from("<I", body, at)
                lc.append((wire, int.from_bytes(body[at + 4:at + 4 + n8], "little")))
                at += 4 + n8
            lcs.append(lc)
        constraints.append(lcs)
    return m, constraints


def violated(constraints: list, w: list[int]) -> int:
    def ev(lc: list) -> int:
        return sum(c * w[i] for i, c in lc) % C.P
    return sum(1 for a, b, c in constraints if (ev(a) * ev(b) - ev(c)) % C.P)


def wires(sym: Path) -> dict[str, int]:
    out = {}
    for line in sym.read_text().splitlines():
        _, var, _, name = line.split(",", 3)
        if int(var) >= 0:
            out[name] = int(var)
    return out


@pytest.fixture(scope="module")
def relu_witness(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The relu-rescale circuit with its symbol table and an honest witness."""
    out = tmp_path_factory.mktemp("sound")
    qmodel = model("relu-rescale")
    circ = C.generate(qmodel)
    (out / "model.circom").write_text(circ.source)
    tools.circom(out / "model.circom", out, sym=True)
    x = np.random.default_rng(3).integers(-127, 128, qmodel.input_shape)
    (out / "input.json").write_text(json.dumps({"x": C.to_field(x)}))
    tools.driver("witness", out / "model_js" / "model.wasm", out / "input.json",
                 out / "w.wtns", cwd=out)
    header = formats.read_r1cs_header(out / "model.r1cs")
    _, constraints = read_constraints(out / "model.r1cs")
    return {"w": formats.read_wtns(out / "w.wtns", 0, header.n_wires),
            "constraints": constraints, "wires": wires(out / "model.sym"),
            "pre": qmodel.run(x)["hb"].reshape(-1), "y": qmodel.output(x).reshape(-1),
            "source": circ.source}


def _requant(case: dict) -> tuple[int, int, int]:
    """(K, OFF, S) of the circuit's one Requant component."""
    line = next(s for s in case["source"].splitlines() if "= Requant(" in s)
    _, k, off, s, _ = (int(v) for v in line.split("Requant(")[1].rstrip(");").split(","))
    return k, off, s


def _bits(case: dict, i: int, k: int) -> list[int]:
    """Wire ids of element i's advice bits."""
    line = next(s for s in case["source"].splitlines() if "= Requant(" in s)
    comp = line.split("component ")[1].split(" =")[0]
    return [case["wires"][f"main.{comp}.b[{i}][{j}]"] for j in range(k)]


def test_honest_witness_satisfies_every_constraint(relu_witness: dict) -> None:
    assert violated(relu_witness["constraints"], relu_witness["w"]) == 0


def test_every_private_wire_is_constrained(relu_witness: dict) -> None:
    used = {i for lcs in relu_witness["constraints"] for lc in lcs for i, c in lc if c}
    assert set(range(1, len(relu_witness["w"]))) <= used


def test_wrong_relu_output_is_rejected(relu_witness: dict) -> None:
    w = list(relu_witness["w"])
    w[1] = (w[1] + 1) % C.P  # y[0], the first public output
    assert violated(relu_witness["constraints"], w) > 0


def test_negative_preactivation_cannot_pass_as_positive(relu_witness: dict) -> None:
    """A forged decomposition: top bit set for a negative value, low bits from T - 2^(K-1)."""
    case = relu_witness
    k, off, shift = _requant(case)
    i = int(np.argmin(case["pre"]))
    assert case["pre"][i] < 0
    w = list(case["w"])
    t = (int(case["pre"][i]) + off) % C.P
    forged = (t - 2 ** (k - 1)) % C.P
    bits = _bits(case, i, k)
    for j in range(k - 1):
        w[bits[j]] = (forged >> j) & 1
    w[bits[k - 1]] = 1
    w[1 + i] = (forged >> shift) % 2 ** (k - 1 - shift)  # what the output would then claim
    assert violated(case["constraints"], w) > 0


def test_non_boolean_bit_is_rejected(relu_witness: dict) -> None:
    """Keep the weighted sum but make one bit 2: only booleanity can catch it."""
    case = relu_witness
    k, _, _ = _requant(case)
    w = list(case["w"])
    for i in range(len(case["pre"])):
        bits = _bits(case, i, k)
        js = [j for j in range(k - 2) if w[bits[j + 1]] == 1]
        if js:
            j = js[0]
            w[bits[j + 1]] = 0
            w[bits[j]] = (w[bits[j]] + 2) % C.P
            break
    else:
        pytest.fail("no set bit to move")
    assert violated(case["constraints"], w) > 0


def test_rounding_cannot_be_shifted(relu_witness: dict) -> None:
    """Claim the next quotient up: decompose T + 2^s instead of T for one positive element."""
    case = relu_witness
    k, off, shift = _requant(case)
    i = int(np.argmax(case["pre"]))
    w = list(case["w"])
    t = int(case["pre"][i]) + off + 2**shift
    for j, wire in enumerate(_bits(case, i, k)):
        w[wire] = (t >> j) & 1
    w[1 + i] = (w[1 + i] + 1) % C.P
    assert violated(case["constraints"], w) > 0


# --- the prover on the real workloads --------------------------------------------------------

class TestSnarkjsConformance(ProverConformance):
    prover_name = "snarkjs-groth16"


def _run(tmp_path: Path, workload: str, size: str, timeout_s: int) -> list[dict]:
    out = tmp_path / f"{workload}-run"
    subprocess.run([sys.executable, "-m", "zkbench.cli", "run", "--provers", "snarkjs-groth16",
                    "--workloads", workload, "--sizes", size, "--timeout", str(timeout_s),
                    "--out", str(out), "--quiet"],
                   cwd=REPO, check=True, capture_output=True, text=True, timeout=timeout_s + 120)
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _needed_power(workload: str, size: str) -> int:
    from zkbench import registry
    from zkbench.cell import build

    _, _, qmodel = build(registry.create_workload(workload), size, 0)
    return C.generate(qmodel).min_power


@pytest.mark.parametrize(("workload", "size"), [
    ("matmul", "n=16"), ("decision_tree", "tree-d4"), ("mlp", "depth-small-3"),
    ("cnn", "digits"), ("chess", "tiny")])
def test_zkbench_run_smallest_sizes(workload: str, size: str, tmp_path: Path) -> None:
    """Proved, verified and tamper-proof where the powers of tau are within reach (cached, or
    small enough for setup to generate); otherwise an honest skip row naming the power and
    the command that generates it (mlp needs 2^14, cnn digits 2^15, chess tiny 2^19)."""
    power = _needed_power(workload, size)
    rows = _run(tmp_path, workload, size, timeout_s=1500)
    if power > ceremony_limit():
        assert [r["status"] for r in rows] == ["skip"]
        assert f"2^{power}" in rows[0]["status_reason"]
        assert "provers.snarkjs.tools ptau" in rows[0]["status_reason"]
        return
    assert {r["stage"] for r in rows} == {"compile", "setup", "witness", "prove", "verify"}
    for r in rows:
        assert r["status"] == "ok", r.get("status_reason")
        assert r["verified"] is True and r["tamper_rejected"] is True
        assert r["proof_bytes"] == 256


def test_cli_prove_then_verify_uses_the_same_keys(tmp_path: Path) -> None:
    """``zkbench verify`` compiles again into the proof's folder; setup must reuse its keys."""
    cli = [sys.executable, "-m", "zkbench.cli"]
    out = tmp_path / "proof"
    subprocess.run([*cli, "prove", "--prover", "snarkjs-groth16", "--workload", "matmul",
                    "--size", "n=16", "--out", str(out)], cwd=REPO, check=True,
                   capture_output=True, timeout=600)
    ok = subprocess.run([*cli, "verify", str(out)], cwd=REPO, capture_output=True, text=True,
                        timeout=600)
    assert ok.returncode == 0, ok.stderr
    statement = json.loads((out / "statement.json").read_text())
    statement["output"][0] += 1
    (out / "statement.json").write_text(json.dumps(statement))
    bad = subprocess.run([*cli, "verify", str(out)], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert bad.returncode == 1 and "pairing check failed" in bad.stderr
