"""The zero-knowledge masks (provers/gkr/masks.py): zero on the cube, derived masks that keep
the free layers' identities, the output term's halves and functional, the last round's line
polynomial, and a plan for every workload's circuit."""

import dataclasses

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr import mle
from provers.gkr.circuit import Add, AddBias, AddConst, Circuit, MatMul, Scale, TensorInfo
from provers.gkr.compile import compile_model
from provers.gkr.masks import MaskPlan, coefficients_from_values, vanishing
from zkbench import registry
from zkbench.testing.conformance import build

RNG = np.random.default_rng(7)


def _point(v: int) -> np.ndarray:
    return F.ext_random(RNG, (v,))


def _boolean_point(v: int) -> np.ndarray:
    return F.ext_from_base(RNG.integers(0, 2, v).astype(np.uint64))


def _circuit(layers, tensors) -> Circuit:
    infos = {name: TensorInfo(name, shape, role) for name, shape, role in tensors}
    return Circuit(infos, tuple(layers), "x", "y", {})


def _free_circuit() -> Circuit:
    """h = x @ w1 + x @ w2; a = h + bias (first 3 rows); a3 = 3 a; c = a3 + 5; y = c @ w3."""
    tensors = [("x", (4, 8), "input"), ("w1", (8, 4), "weight"), ("w2", (8, 4), "weight"),
               ("h1", (4, 4), "derived"), ("h2", (4, 4), "derived"), ("h", (4, 4), "derived"),
               ("bias", (4,), "weight"), ("a", (4, 4), "derived"), ("a3", (4, 4), "derived"),
               ("c", (4, 4), "derived"), ("w3", (4, 4), "weight"), ("y", (4, 4), "derived")]
    layers = [MatMul("h1", ("x", "w1")), MatMul("h2", ("x", "w2")), Add("h", ("h1", "h2")),
              AddBias("a", ("h", "bias"), rows=3), Scale("a3", ("a",), c=3),
              AddConst("c", ("a3",), c=5), MatMul("y", ("c", "w3"))]
    return _circuit(layers, tensors)


def _eval(plan, vec, name, point):
    return plan.evaluate(vec, name, point)


def test_every_mask_is_zero_on_the_cube_and_not_elsewhere() -> None:
    circuit = _free_circuit()
    plan = MaskPlan.build(circuit)
    vec = plan.random_vector(RNG)
    masked = [n for n, parts in plan.parts.items() if parts]
    assert set(masked) == {"w1", "w2", "w3", "h1", "h2", "h", "bias", "a", "a3", "c"}
    for name in masked:
        v = circuit.tensors[name].num_vars
        for _ in range(4):
            assert F.ext_eq(_eval(plan, vec, name, _boolean_point(v)), F.ext_zero())
        assert not F.ext_eq(_eval(plan, vec, name, _point(v)), F.ext_zero())


def test_public_tensors_have_no_mask_and_the_free_layers_identities_hold() -> None:
    circuit = _free_circuit()
    plan = MaskPlan.build(circuit)
    vec = plan.random_vector(RNG)
    assert plan.parts["x"] == () and plan.parts["y"] == ()
    z = _point(4)
    m = {n: _eval(plan, vec, n, z) for n in ("h1", "h2", "h", "a", "a3", "c")}
    assert F.ext_eq(m["c"], m["a3"])  # c = a3 + 5 M
    three = F.ext_from_base(np.uint64(3))
    assert F.ext_eq(m["a3"], F.ext_mul(three, m["a"]))  # a3 = 3 a
    bias = _eval(plan, vec, "bias", z[:, 2:])
    rows = F.ext_sum_all(mle.eq_table(z[:, :2])[:, :3])
    assert F.ext_eq(m["a"], F.ext_add(m["h"], F.ext_mul(bias, rows)))  # a = h + bias S
    assert F.ext_eq(m["h"], F.ext_add(m["h1"], m["h2"]))  # h = h1 + h2
    assert not F.ext_eq(m["h1"], F.ext_zero()) and not F.ext_eq(bias, F.ext_zero())


def test_public_weights_are_unmasked_on_request() -> None:
    plan = MaskPlan.build(_free_circuit(), public_weights=True)
    assert all(plan.parts[n] == () for n in ("w1", "w2", "w3", "bias"))
    assert plan.parts["h"] and plan.parts["a"]


def test_a_public_output_from_free_layers() -> None:
    tensors = [("x", (4, 4), "input"), ("w", (4, 4), "weight"), ("a", (4, 4), "derived"),
               ("a3", (4, 4), "derived"), ("y", (4, 4), "derived"), ("b", (4,), "weight")]
    # y = 3 a: a is public (a third of the output)
    plan = MaskPlan.build(_circuit([MatMul("a", ("x", "w")), Scale("y", ("a",), c=3)],
                                   tensors))
    assert plan.parts["a"] == () and plan.parts["w"]
    # y = a + bias: a's mask cancels the bias's
    layers = [MatMul("a", ("x", "w")), AddBias("y", ("a", "b"), rows=4)]
    plan = MaskPlan.build(_circuit(layers, tensors))
    vec = plan.random_vector(RNG)
    z = _point(4)
    total = F.ext_add(plan.evaluate(vec, "a", z),
                      F.ext_mul(plan.evaluate(vec, "b", z[:, 2:]),
                                F.ext_sum_all(mle.eq_table(z[:, :2]))))
    assert F.ext_eq(total, F.ext_zero())
    assert not F.ext_eq(plan.evaluate(vec, "a", z), F.ext_zero())
    # y = a + 3 a with a used twice: nothing can absorb the masks
    layers = [MatMul("a", ("x", "w")), Scale("a3", ("a",), c=3), Add("y", ("a", "a3"))]
    with pytest.raises(ValueError, match="scale layer 'a3'.*none of which can absorb"):
        MaskPlan.build(_circuit(layers, tensors))


def test_repeated_sources_are_merged_and_cancellations_dropped() -> None:
    tensors = [("x", (4, 4), "input"), ("w", (4, 4), "weight"), ("a", (4, 4), "derived"),
               ("m", (4, 4), "derived"), ("d", (4, 4), "derived"), ("y", (4, 4), "derived")]
    layers = [MatMul("a", ("x", "w")), Scale("m", ("a",), c=-1), Add("d", ("a", "m")),
              MatMul("y", ("d", "w"))]
    plan = MaskPlan.build(_circuit(layers, tensors))
    assert plan.parts["d"] == ()  # a - a
    assert len(plan.parts["m"]) == 1 and plan.parts["m"][0].coef == F.P - 1


def test_output_term_halves_and_functional() -> None:
    circuit = _free_circuit()
    plan = MaskPlan.build(circuit)
    vec = plan.random_vector(RNG)
    for name in ("h1", "a", "w1"):
        z = _point(circuit.tensors[name].num_vars)
        a0, a1 = plan.output_term(vec, name, z)
        assert F.ext_eq(F.ext_add(a0, a1), _eval(plan, vec, name, z))
        r1 = _point(1)[:, 0]
        functional = plan.output_functional(name, z, r1)
        value = F.ext_zero()
        for idx, coef in functional.items():
            value = F.ext_add(value, F.ext_mul_base(coef, vec[idx]))
        expected = F.ext_add(F.ext_mul(a0, F.ext_sub(F.ext_one(), r1)), F.ext_mul(a1, r1))
        assert F.ext_eq(value, expected)
        value = F.ext_zero()
        for idx, coef in plan.value_functional(name, z).items():
            value = F.ext_add(value, F.ext_mul_base(coef, vec[idx]))
        assert F.ext_eq(value, _eval(plan, vec, name, z))
        wrong = vec.copy()
        wrong[min(functional)] = (wrong[min(functional)] + 1) % F.P
        moved = F.ext_zero()
        for idx, coef in functional.items():
            moved = F.ext_add(moved, F.ext_mul_base(coef, wrong[idx]))
        assert not F.ext_eq(moved, expected)


@pytest.mark.parametrize("position", [0, 1, 3])
def test_line_polynomial_matches_the_mask_on_the_line(position: int) -> None:
    circuit = _free_circuit()
    plan = MaskPlan.build(circuit)
    vec = plan.random_vector(RNG)
    name = "a"  # derived: h's fresh mask and the bias's under a row selector
    v = circuit.tensors[name].num_vars
    prefix, suffix = _point(position), _point(v - 1 - position)
    degree = plan.line_degree(name, position)
    assert degree >= 2
    coeffs = plan.line_polynomial(vec, name, prefix, suffix, degree)
    x = _point(1)
    at_x = F.ext_zero()
    power = F.ext_one()
    for e in range(degree + 1):
        at_x = F.ext_add(at_x, F.ext_mul(coeffs[:, e], power))
        power = F.ext_mul(power, x[:, 0])
    direct = _eval(plan, vec, name, np.concatenate([prefix, x, suffix], axis=1))
    assert F.ext_eq(at_x, direct)
    ends = (coeffs[:, 0], F.ext_sum_all(coeffs))  # the values at X = 0 and X = 1
    if position >= 2:
        # a column variable: every part's Z has the factor X (1 - X)
        assert all(F.ext_eq(e, F.ext_zero()) for e in ends)
    else:
        # a row variable: the bias's part is Z(x_cols) times the row selector, nonzero at
        # X = 0 or 1: a sumcheck must not end on it (see masks.py)
        assert not all(F.ext_eq(e, F.ext_zero()) for e in ends)


def test_coefficients_from_values_inverts_evaluation() -> None:
    coeffs = F.ext_random(RNG, (5,))
    values = []
    for x in range(5):
        xe = F.ext_from_base(np.uint64(x))
        acc, power = F.ext_zero(), F.ext_one()
        for e in range(5):
            acc = F.ext_add(acc, F.ext_mul(coeffs[:, e], power))
            power = F.ext_mul(power, xe)
        values.append(acc)
    assert F.ext_eq(coefficients_from_values(np.stack(values, axis=1)), coeffs)


def test_vanishing_polynomial() -> None:
    assert F.ext_eq(vanishing(_boolean_point(3)), F.ext_zero())
    assert F.ext_eq(vanishing(F.ext_zero((0,))), F.ext_one())
    two = F.ext_from_base(np.array([2, 2], np.uint64))
    assert F.ext_eq(vanishing(two), F.ext_from_base(np.uint64(4)))  # (2 * -1)^2


@pytest.mark.parametrize("workload", registry.workload_names())
def test_every_workload_circuit_gets_a_plan(workload: str) -> None:
    w = registry.create_workload(workload)
    _, _, qmodel = build(w, w.quick_sizes()[0], 0)
    circuit = compile_model(qmodel)
    plan = MaskPlan.build(circuit)
    assert plan.parts[circuit.output] == () and plan.parts[circuit.input] == ()
    for name, info in circuit.tensors.items():
        if name not in (circuit.input, circuit.output) and info.role != "derived":
            assert plan.parts[name], name  # weights and advice are masked
    vec = plan.random_vector(RNG)
    for name, parts in plan.parts.items():
        if parts:
            v = circuit.tensors[name].num_vars
            assert F.ext_eq(plan.evaluate(vec, name, _boolean_point(v)), F.ext_zero())


def _free_identity_holds(circuit: Circuit, plan: MaskPlan, vec: np.ndarray, layer) -> bool:
    z = _point(circuit.tensors[layer.out].num_vars)
    out = plan.evaluate(vec, layer.out, z)
    x = plan.evaluate(vec, layer.inputs[0], z) if not isinstance(layer, AddBias) else None
    if isinstance(layer, Scale):
        expected = F.ext_mul_base(x, F.encode(np.array(layer.c, np.int64)))
    elif isinstance(layer, AddConst):
        expected = x
    elif isinstance(layer, Add):
        expected = F.ext_add(x, plan.evaluate(vec, layer.inputs[1], z))
    else:
        row_vars = mle.log2_exact(circuit.tensors[layer.out].padded[0])
        bias = plan.evaluate(vec, layer.inputs[1], z[:, row_vars:])
        rows = F.ext_sum_all(mle.eq_table(z[:, :row_vars])[:, :layer.rows])
        expected = F.ext_add(plan.evaluate(vec, layer.inputs[0], z), F.ext_mul(bias, rows))
    return F.ext_eq(out, expected)


@pytest.mark.parametrize("workload", registry.workload_names())
def test_every_free_layer_of_every_workload_keeps_its_identity(workload: str) -> None:
    w = registry.create_workload(workload)
    _, _, qmodel = build(w, w.quick_sizes()[0], 0)
    circuit = compile_model(qmodel)
    plan = MaskPlan.build(circuit)
    vec = plan.random_vector(RNG)
    free = [layer for layer in circuit.layers if isinstance(layer, (Add, AddBias, AddConst,
                                                                     Scale))]
    for layer in free:
        assert _free_identity_holds(circuit, plan, vec, layer), (layer.kind, layer.out)
    # and the check can fail: a free layer's output with a mask not derived from its
    # inputs' (here doubled) breaks the identity
    masked = [layer for layer in free if plan.parts[layer.out]]
    assert masked or workload == "matmul"
    for layer in masked[:1]:
        parts = dict(plan.parts)
        parts[layer.out] = tuple(p.scaled(2) for p in parts[layer.out])
        wrong = dataclasses.replace(plan, parts=parts)
        assert not _free_identity_holds(circuit, wrong, vec, layer)


def test_virtual_quantities_get_fresh_or_composed_masks() -> None:
    """A virtual name with a fresh mask; another whose mask is linear in its first variable
    and Z over the others (two sources under row selectors: (1 - b) delta_A + b delta_B),
    so that its halves at b = 0 and b = 1 stay masked."""
    from provers.gkr.masks import Part

    split = (Part("lvl#0", 1, 1, 1), Part("lvl#1", 1, 1, 2), Part("lvl#1", F.P - 1, 1, 1))
    plan = MaskPlan.build(_free_circuit(), virtual={"r": (3, None), "lvl#0": (3, ()),
                                                     "lvl#1": (3, ()), "lvl": (4, split)})
    vec = plan.random_vector(RNG)
    assert plan.parts["r"] and plan.fresh["r"].num_vars == 3
    x = _point(3)
    for b in (0, 1):
        half = np.concatenate([F.ext_from_base(np.array([b], np.uint64)), x], axis=1)
        source = "lvl#0" if b == 0 else "lvl#1"
        expected = F.ext_mul(vanishing(x), F.ext_add(*plan.delta_halves(vec, source, x[:, 0])))
        assert F.ext_eq(plan.evaluate(vec, "lvl", half), expected)
        assert not F.ext_eq(expected, F.ext_zero())
    mu = _point(1)
    point = np.concatenate([mu, x], axis=1)
    lo = plan.evaluate(vec, "lvl", np.concatenate([F.ext_zero((1,)), x], axis=1))
    hi = plan.evaluate(vec, "lvl", np.concatenate([F.ext_one((1,)), x], axis=1))
    line = F.ext_add(F.ext_mul(F.ext_sub(F.ext_one(), mu[:, 0]), lo), F.ext_mul(mu[:, 0], hi))
    assert F.ext_eq(plan.evaluate(vec, "lvl", point), line)
    for b in (0, 1):
        boolean = np.concatenate([F.ext_from_base(np.array([b], np.uint64)),
                                  _boolean_point(3)], axis=1)
        assert F.ext_eq(plan.evaluate(vec, "lvl", boolean), F.ext_zero())


@pytest.mark.parametrize(("n", "rows"), [(0, 1), (3, 0), (3, 1), (3, 5), (3, 8), (5, 17)])
def test_prefix_selector_sums_eq_over_the_first_rows(n: int, rows: int) -> None:
    from provers.gkr.masks import prefix_selector

    x = _point(n)
    expected = F.ext_sum_all(mle.eq_table(x)[:, :rows]) if rows else F.ext_zero()
    assert F.ext_eq(prefix_selector(x, rows), expected)
