"""Generate field_kat.json: known-answer vectors for provers/gkr/field.py.

The oracle is independent of the code under test: plain Python integers (schoolbook
polynomial products mod x^4 - 11, inverses by Fermat exponentiation) and, for the base field,
galois.GF(p) as a second opinion where galois is installed. Run from the repository root:

    python tests/gkr/vectors/make_field_kat.py

The output is deterministic (seeded), so re-running it reproduces the checked-in file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

P = 2013265921  # 2^31 - 2^27 + 1
W = 11  # K = F_p[x] / (x^4 - W)
SEED = 20240611
CASES = 50

POW_EDGE = [0, 1, 2, 3, P - 1, P - 2, P, 1 << 40]
EDGE = [0, 1, 2, P - 1, P - 2, (P - 1) // 2, (P + 1) // 2, 1 << 30, 1 << 27, (1 << 31) - P]


def ext_mul(a: list[int], b: list[int]) -> list[int]:
    full = [0] * 7
    for i in range(4):
        for j in range(4):
            full[i + j] += a[i] * b[j]
    # x^4 = W, x^5 = W x, x^6 = W x^2
    return [(full[k] + (W * full[k + 4] if k + 4 < 7 else 0)) % P for k in range(4)]


def ext_pow(a: list[int], e: int) -> list[int]:
    result = [1, 0, 0, 0]
    base = list(a)
    while e:
        if e & 1:
            result = ext_mul(result, base)
        base = ext_mul(base, base)
        e >>= 1
    return result


def ext_inv(a: list[int]) -> list[int]:
    # The multiplicative group of K has order p^4 - 1.
    return ext_pow(a, P**4 - 2)


def base_values(rng: random.Random, n: int) -> list[int]:
    vals = list(EDGE)
    while len(vals) < n:
        vals.append(rng.randrange(P))
    return vals[:n]


def ext_values(rng: random.Random, n: int) -> list[list[int]]:
    vals = [
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 1],
        [P - 1, P - 1, P - 1, P - 1],
        [1 << 30, 1 << 30, 1 << 30, 1 << 30],
        [P - 1, 0, P - 1, 0],
        [0, P - 1, 0, P - 1],
    ]
    while len(vals) < n:
        vals.append([rng.randrange(P) for _ in range(4)])
    return vals[:n]


def galois_check(cases: dict) -> bool:
    """Recompute the base-field vectors with galois; False if galois is not installed."""
    try:
        import galois
    except ImportError:
        return False
    gf = galois.GF(P)
    for a, b, c in cases["add"]:
        assert int(gf(a) + gf(b)) == c
    for a, b, c in cases["sub"]:
        assert int(gf(a) - gf(b)) == c
    for a, b, c in cases["mul"]:
        assert int(gf(a) * gf(b)) == c
    for a, c in cases["inv"]:
        assert int(gf(a) ** -1) == c
    for a, e, c in cases["pow"]:
        # galois takes machine-size exponents; a^e depends on e mod (p - 1) for a != 0.
        e_small = e if a == 0 or e < 1 << 62 else (e - 1) % (P - 1) + 1
        assert int(gf(a) ** e_small) == c
    return True


def galois_irreducible() -> bool | None:
    """Whether galois finds x^4 - W irreducible over F_p (None without galois; slow, ~15 s)."""
    try:
        import galois
    except ImportError:
        return None
    gf = galois.GF(P)
    return bool(galois.Poly([1, 0, 0, 0, P - W], field=gf).is_irreducible())


def main() -> None:
    rng = random.Random(SEED)
    xs = base_values(rng, CASES)
    ys = base_values(rng, CASES)
    rng.shuffle(ys)
    base = {
        "add": [[a, b, (a + b) % P] for a, b in zip(xs, ys, strict=True)],
        "sub": [[a, b, (a - b) % P] for a, b in zip(xs, ys, strict=True)],
        "mul": [[a, b, a * b % P] for a, b in zip(xs, ys, strict=True)],
        "inv": [[a, pow(a, P - 2, P)] for a in xs if a],
        "pow": [[a, e, pow(a, e, P)] for a, e in zip(xs, POW_EDGE, strict=False)]
        + [
            [a, e, pow(a, e, P)]
            for a, e in ((rng.randrange(P), rng.randrange(1 << 80)) for _ in range(CASES - 8))
        ],
    }
    es = ext_values(rng, CASES)
    fs = ext_values(rng, CASES)
    rng.shuffle(fs)
    ext = {
        "mul": [[a, b, ext_mul(a, b)] for a, b in zip(es, fs, strict=True)],
        "inv": [[a, ext_inv(a)] for a in es if any(a)],
    }
    for a, c in ext["inv"]:
        assert ext_mul(a, c) == [1, 0, 0, 0]
    oracle = "python-int" + ("+galois" if galois_check(base) else "")
    irreducible = galois_irreducible()
    assert irreducible in (True, None)
    out = {
        "p": P,
        "w": W,
        "seed": SEED,
        "oracle": oracle,
        "x4_minus_w_irreducible": irreducible,
        "base": base,
        "ext": ext,
    }
    path = Path(__file__).with_name("field_kat.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({oracle})")


if __name__ == "__main__":
    main()
