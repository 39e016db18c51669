"""The node tools of ``snarkjs-groth16``: installed once into a cache directory, then run.

``package.json`` and ``package-lock.json`` next to this file pin circom2 (the WebAssembly
build of the circom 2 compiler), snarkjs and circomlib (whose Poseidon the committed-weights
circuit includes). On first use ``npm ci`` installs them into
``zkbench.cache.cache_dir("snarkjs")/<lock digest>/``, so a changed lock
file gets a fresh install and nothing is ever written into the repository. Powers of tau are
cached beside it, one file per power, because generating them dominates a cold setup.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from zkbench.cache import cache_dir

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.mjs"
LOCK = HERE / "package-lock.json"
MIN_NODE_MAJOR = 18
INSTALL_TIMEOUT_S = 900


class ToolError(RuntimeError):
    """A node tool failed; the message carries the tool's last line of output."""


def cache_root() -> Path:
    return cache_dir("snarkjs")


def install_dir() -> Path:
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    return cache_root() / digest


def ptau_dir() -> Path:
    return cache_root() / "ptau"


def node_problem() -> str | None:
    """Why node or npm cannot be used here, or None."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed (snarkjs-groth16 needs node >= 18 and npm)"
    if shutil.which("npm") is None:
        return "npm is not installed (snarkjs-groth16 installs circom2 and snarkjs with it)"
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"node --version failed: {exc}"
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        return f"node {version} is too old (snarkjs-groth16 needs node >= {MIN_NODE_MAJOR})"
    return None


def installed() -> bool:
    root = install_dir()
    return all((root / "node_modules" / entry).is_file() for entry in (
        "snarkjs/main.js", "circom2/cli.js", "circomlib/circuits/poseidon.circom"))


def ensure_installed() -> str | None:
    """Install the pinned node packages unless already cached; the reason on failure."""
    if installed():
        return None
    problem = node_problem()
    if problem:
        return problem
    final = install_dir()
    staging = final.with_name(f"{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copy2(HERE / "package.json", staging / "package.json")
        shutil.copy2(LOCK, staging / "package-lock.json")
        try:
            proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                                  cwd=staging, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"npm ci did not finish within {INSTALL_TIMEOUT_S} s"
        if proc.returncode != 0:
            return f"npm ci failed: {last_line(proc.stderr or proc.stdout)}"
        try:
            staging.rename(final)  # atomic; a concurrent install may have won the race
        except OSError:
            if not installed():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return None if installed() else ("npm ci finished but snarkjs, circom2 or circomlib is "
                                     "missing")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_node(args: list[str], cwd: Path, timeout_s: float | None = None) -> str:
    """Run ``node ARGS`` with snarkjs's entry point in the environment; stdout, or ToolError."""
    env = dict(os.environ)
    env["ZKBENCH_SNARKJS_MAIN"] = str(install_dir() / "node_modules" / "snarkjs" / "main.js")
    proc = subprocess.run(["node", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout_s)
    if proc.returncode != 0:
        raise ToolError(f"node {Path(args[0]).name} {args[1] if len(args) > 1 else ''} "
                        f"failed: {last_line(proc.stderr or proc.stdout)}")
    return proc.stdout


def driver(command: str, *paths: str | Path, cwd: Path) -> str:
    return run_node([str(DRIVER), command, *map(str, paths)], cwd=cwd)


def circom(source: Path, out_dir: Path, sym: bool = False, simplify: str = "--O1") -> str:
    """Compile with circom2: R1CS and the wasm witness calculator (and the symbol table that
    names every wire, with ``sym``). Simplification --O1 by default: --O2's full linear
    substitution takes minutes on models with a few thousand range checks and saves few
    constraints there (committed-weights circuits ask for --O2: it removes Poseidon's linear
    constraints, two thirds of the hash).

    The installed ``node_modules`` is circom's library path (``-l``), so sources include
    circomlib as ``circomlib/circuits/...``. circom2 runs under WASI and passes paths on
    relative to its working directory, and it finds no library above that directory through
    ``..``: it runs from the common ancestor of the output and library folders."""
    modules = install_dir() / "node_modules"
    cli = modules / "circom2" / "cli.js"
    if simplify not in ("--O0", "--O1", "--O2"):
        raise ValueError(f"circom simplification {simplify!r} is not --O0, --O1 or --O2")
    flags = ["--r1cs", "--wasm", simplify, *(["--sym"] if sym else [])]
    root = Path(os.path.commonpath([Path(out_dir).resolve(), modules.resolve()]))
    return run_node([str(cli), str(Path(source).resolve()), *flags, "-l", str(modules.resolve()),
                     "-o", str(Path(out_dir).resolve())], cwd=root)


def ptau(power: int) -> Path:
    """A prepared powers-of-tau file for at least ``2**power`` constraints, from the cache.

    Any cached power >= ``power`` serves (snarkjs reads only the level it needs); otherwise
    one ceremony (fresh accumulator, one random contribution, phase-2 preparation) runs now
    and is cached under its power. Files only appear in the cache once complete."""
    folder = ptau_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale(folder)
    for have in sorted(cached_powers()):
        if have >= power:
            return folder / f"bn128-pot{have}.ptau"
    final = folder / f"bn128-pot{power}.ptau"
    staging = folder / f"bn128-pot{power}.{os.getpid()}.tmp"
    try:
        driver("ptau", power, staging, cwd=folder)
        staging.rename(final)
    finally:
        for leftover in folder.glob(f"bn128-pot{power}.{os.getpid()}.tmp*"):
            leftover.unlink(missing_ok=True)
    return final


def cached_powers() -> list[int]:
    """Powers of the finished ceremonies in the cache."""
    powers = []
    for path in ptau_dir().glob("bn128-pot*.ptau"):
        match = re.fullmatch(r"bn128-pot(\d+)\.ptau", path.name)
        if match:
            powers.append(int(match.group(1)))
    return powers


def _remove_stale(folder: Path) -> None:
    """Delete staging files of ceremonies whose process is gone (a cell killed at its limit)."""
    for path in folder.glob("bn128-pot*.*.tmp*"):
        match = re.fullmatch(r"bn128-pot\d+\.(\d+)\.tmp.*", path.name)
        if match and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    """``python -m provers.snarkjs.tools ptau POWER``: fill the cache ahead of a sweep."""
    if len(argv) != 2 or argv[0] != "ptau" or not argv[1].isdigit():
        print("usage: python -m provers.snarkjs.tools ptau POWER", file=sys.stderr)
        return 2
    problem = ensure_installed()
    if problem:
        print(f"snarkjs-groth16: {problem}", file=sys.stderr)
        return 1
    print(ptau(int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
