"""GKR field and multilinear kernels on 2^20 elements: the arithmetic every prover round runs on.

What is measured: wall time of one call of each public kernel of ``provers.gkr.field``
(BabyBear ``mul``; quartic-extension ``ext_mul`` and ``ext_mul_base``) and ``provers.gkr.mle``
(``fold`` of a base and of an extension table, i.e. one sumcheck round's table update, and
``eq_table`` at v = 20). Inputs are uniform field elements from a seeded
``np.random.default_rng``, drawn in ``setup``; every call allocates its output, as the
prover's callers do. ``setup`` also compiles (or loads from numba's on-disk cache) the numba
kernels, so compilation is never timed; a cold cache takes about a minute on 2 cores, hence
the generous ``timeout``. Which backend ran (numba or numpy, ``ZKBENCH_GKR_NUMBA=0``) is
``provers.gkr.field.BACKEND``; numba uses every core it is given.

Run from the repository root:

    asv run --python=same --quick --bench field    # each kernel once, current environment
    asv run --python=same --bench field            # full timing
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle

LOG_N = 20
N = 1 << LOG_N
SEED = 0
COLD_COMPILE_TIMEOUT_S = 300.0


def _warm_kernels() -> None:
    F.warmup()
    mle.warmup()


class BaseMul:
    """``field.mul`` of two base arrays of 2^20 elements."""

    version = "1"  # bump only when what is measured changes
    timeout = COLD_COMPILE_TIMEOUT_S

    def setup(self) -> None:
        _warm_kernels()
        rng = np.random.default_rng(SEED)
        self.a = F.random(rng, N)
        self.b = F.random(rng, N)

    def time_mul(self) -> None:
        F.mul(self.a, self.b)


class ExtMul:
    """``field.ext_mul`` of two extension arrays (4, 2^20)."""

    version = "1"
    timeout = COLD_COMPILE_TIMEOUT_S

    def setup(self) -> None:
        _warm_kernels()
        rng = np.random.default_rng(SEED)
        self.a = F.ext_random(rng, N)
        self.b = F.ext_random(rng, N)

    def time_ext_mul(self) -> None:
        F.ext_mul(self.a, self.b)


class ExtMulBase:
    """``field.ext_mul_base``: an extension array (4, 2^20) times a base array (2^20,)."""

    version = "1"
    timeout = COLD_COMPILE_TIMEOUT_S

    def setup(self) -> None:
        _warm_kernels()
        rng = np.random.default_rng(SEED)
        self.e = F.ext_random(rng, N)
        self.a = F.random(rng, N)

    def time_ext_mul_base(self) -> None:
        F.ext_mul_base(self.e, self.a)


class Fold:
    """``mle.fold`` of a 2^20-entry table with one extension challenge (output (4, 2^19))."""

    version = "1"
    timeout = COLD_COMPILE_TIMEOUT_S
    params = [["base", "ext"]]
    param_names = ["table"]

    def setup(self, table: str) -> None:
        _warm_kernels()
        rng = np.random.default_rng(SEED)
        self.table = F.random(rng, N) if table == "base" else F.ext_random(rng, N)
        self.r = F.ext_random(rng)

    def time_fold(self, table: str) -> None:
        mle.fold(self.table, self.r)


class EqTable:
    """``mle.eq_table`` at a random extension point with v = 20 variables (output (4, 2^20))."""

    version = "1"
    timeout = COLD_COMPILE_TIMEOUT_S

    def setup(self) -> None:
        _warm_kernels()
        rng = np.random.default_rng(SEED)
        self.z = F.ext_random(rng, LOG_N)

    def time_eq_table(self) -> None:
        mle.eq_table(self.z)
