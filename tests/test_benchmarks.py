"""The asv suite under benchmarks/ stays runnable: every benchmark runs once at its smallest size.

For each benchmark class in every module of benchmarks/, every benchmark method (time_, timeraw_,
peakmem_, mem_, track_) is called once with asv's calling convention: ``setup_cache`` (if any),
then per parameter combination a fresh instance, ``setup``, each method, ``teardown``.
Size-like parameters are cut to their first (smallest) value; the others (prover, table kind)
keep every value, so a combination that setup skips with NotImplementedError (plain has no
security level) does not hide the method. Track values must be positive finite numbers with a
``.unit``. ``asv check`` then validates the suite as asv itself discovers it.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import pkgutil
import re
import subprocess
import sys
from numbers import Real
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARK_DIR = REPO / "benchmarks"
# asv's own benchmark-name prefixes (asv_runner.benchmarks.*.name_regex).
BENCHMARK_METHOD = re.compile(r"^(time|timeraw|peakmem|mem|track)_")
# Parameters whose values grow the work; the test runs only their first value.
SIZE_PARAMS = {"size", "v", "log_n"}


def _suite_modules() -> list[ModuleType]:
    # asv imports benchmark_dir as a package named after the directory; do the same.
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    package = importlib.import_module(BENCHMARK_DIR.name)
    names = [info.name for info in pkgutil.iter_modules([str(BENCHMARK_DIR)])]
    return [importlib.import_module(f"{package.__name__}.{name}") for name in sorted(names)]


def _benchmark_classes(module: ModuleType) -> list[type]:
    return [
        cls
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and not name.startswith("_") and _methods(cls)
    ]


def _methods(cls: type) -> list[str]:
    return sorted(name for name in dir(cls) if BENCHMARK_METHOD.match(name))


def _smallest_combinations(cls: type) -> list[tuple]:
    params = getattr(cls, "params", [])
    if not params:
        return [()]
    if not isinstance(params[0], list | tuple):  # asv allows a flat list for one parameter
        params = [params]
    names = getattr(cls, "param_names", [f"param{i}" for i in range(len(params))])
    values = [p[:1] if name in SIZE_PARAMS else p for name, p in zip(names, params, strict=True)]
    return list(itertools.product(*values))


MODULES = _suite_modules()
CLASSES = [cls for module in MODULES for cls in _benchmark_classes(module)]


def test_every_module_has_benchmarks() -> None:
    assert MODULES, "benchmarks/ holds no modules"
    for module in MODULES:
        assert _benchmark_classes(module), f"{module.__name__} defines no benchmark class"
        stray = [
            name
            for name, obj in vars(module).items()
            if BENCHMARK_METHOD.match(name) and inspect.isfunction(obj)
        ]
        assert not stray, f"{module.__name__}: module-level benchmarks {stray} are not tested here"


def _check_value(cls: type, method: str, value: object) -> None:
    where = f"{cls.__module__}.{cls.__name__}.{method}"
    if method.startswith("track_"):
        assert isinstance(value, Real) and not isinstance(value, bool), f"{where} -> {value!r}"
        assert math.isfinite(value) and value > 0, f"{where} -> {value!r}"
        assert isinstance(getattr(getattr(cls, method), "unit", None), str), f"{where}: no .unit"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_benchmark_runs_once(cls: type) -> None:
    # asv_runner passes setup_cache's result as the first argument unless it is None.
    cache = cls().setup_cache() if hasattr(cls, "setup_cache") else None
    head = () if cache is None else (cache,)
    ran: set[str] = set()
    skipped: list[str] = []
    for combination in _smallest_combinations(cls):
        args = head + combination
        # asv sets up afresh for each method; one setup per combination is enough here, and
        # methods must not depend on each other's leftovers (time_ runs repeat them anyway).
        bench = cls()
        try:
            if hasattr(bench, "setup"):
                bench.setup(*args)
        except NotImplementedError as exc:
            skipped.append(f"{combination}: {exc}")
        else:
            for method in _methods(cls):
                _check_value(cls, method, getattr(bench, method)(*args))
                ran.add(method)
        finally:
            if hasattr(bench, "teardown"):
                bench.teardown(*args)
    missing = set(_methods(cls)) - ran
    assert not missing, f"{cls.__name__}: {sorted(missing)} never ran; skips: {skipped}"


def test_asv_check() -> None:
    pytest.importorskip("asv", reason="asv is not installed (pip install asv)")
    done = subprocess.run(
        [sys.executable, "-m", "asv", "check", "--python=same"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
