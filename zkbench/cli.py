"""The ``zkbench`` command: list | run | prove | verify | report | inspect.

Exit codes: 0 success; 1 a proof was rejected (``verify``) or a sweep recorded a soundness
alarm; 2 unusable input (unknown names, bad files, unwritable folders), always as one line on
stderr naming the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
STATEMENT_FORMAT = "zkbench-statement/1"


class UsageError(Exception):
    """Bad input from the user; printed as one line, exit code 2."""


class Rejected(Exception):
    """The proof or statement does not check; printed as one line, exit code 1."""


# ----------------------------------------------------------------------------- helpers


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".zkbench-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"output folder {path} is not writable: {exc.strerror or exc}") from exc
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- list


def cmd_list(args: argparse.Namespace) -> int:
    from zkbench import registry

    print("provers:")
    for name in registry.prover_names():
        prover, reason = registry.prover_status(name)
        if prover is None:
            print(f"  {name:18s} unavailable: {reason}")
            continue
        caps = prover.capabilities()
        state = "available" if reason is None else f"unavailable: {reason}"
        bits = caps.security_bits if caps.security_bits is not None else "-"
        print(f"  {name:18s} {state}; field {caps.field}; security bits {bits}; "
              f"zk {'yes' if caps.zk else 'no'}; statement {caps.statement}; "
              f"backends {', '.join(caps.backends)}")
        unusable = getattr(prover, "unavailable_backends", dict)()
        for backend, why in unusable.items():
            print(f"  {'':18s} backend {backend} unavailable here: {why}")
    from zkbench.environment import gpu_model

    print(f"GPU: {gpu_model() or 'none found (nvidia-smi)'}")
    print("workloads:")
    for name in registry.workload_names():
        try:
            w = registry.create_workload(name)
            quick = ", ".join(w.quick_sizes())
            print(f"  {name:18s} sizes {', '.join(w.sizes())} (quick: {quick})")
        except Exception as exc:
            print(f"  {name:18s} cannot load: {exc.__class__.__name__}: {exc}")
    from zkbench import suites

    print("suites (zkbench run --suite NAME):")
    for name in suites.suite_names():
        cells = sum(len(v) for v in suites.suite_sizes(name).values())
        about = suites.DESCRIPTIONS.get(name, "declared by workloads")
        print(f"  {name:18s} {cells} sizes: {about}")
    return EXIT_OK


# ----------------------------------------------------------------------------- run


def _sweep_from_args(args: argparse.Namespace) -> Any:
    from zkbench import registry, suites
    from zkbench.runner import Limits, Sweep, parse_bytes

    model = _model_workload(args)
    workloads = _split(args.workloads)
    for w in workloads or []:
        if w not in registry.workload_names():
            raise UsageError(f"unknown workload {w!r}; known: "
                             f"{', '.join(registry.workload_names())}")
    sizes_by_workload = ({model.name: [model.size]} if model
                         else suites.suite_sizes(args.suite, workloads))
    wanted = _split(args.sizes)
    if wanted:
        known = {w: list(registry.create_workload(w).sizes()) for w in sizes_by_workload}
        for size in wanted:
            if not any(size in sizes for sizes in known.values()):
                listing = "; ".join(f"{w}: {', '.join(s)}" for w, s in known.items())
                raise UsageError(f"no selected workload has size {size!r} ({listing})")
        sizes_by_workload = {w: [s for s in wanted if s in sizes] for w, sizes in known.items()}
        sizes_by_workload = {w: v for w, v in sizes_by_workload.items() if v}

    provers = _split(args.provers)
    if provers is None:
        provers = [p for p in registry.prover_names() if registry.prover_status(p)[1] is None]
    for p in provers:
        if p not in registry.prover_names():
            raise UsageError(f"unknown prover {p!r}; known: {', '.join(registry.prover_names())}")
    if args.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {args.repeat}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    try:
        mem = parse_bytes(args.mem_limit)
    except ValueError as exc:
        raise UsageError(f"--mem-limit: {exc}") from None
    backend = args.backend
    if args.device:  # --device is --backend under the name GPU users look for
        if backend not in ("cpu", args.device):
            raise UsageError(f"--device {args.device} and --backend {backend} disagree; "
                             f"give one of them")
        backend = args.device
    if model:  # a model no selected prover can take ends here, before any result is written
        _check_model(model, provers, args.seed, args.quant_bits, _split(backend) or ["cpu"])
    return Sweep(provers=provers, sizes=sizes_by_workload, backends=_split(backend) or ["cpu"],
                 repeat=args.repeat, seed=args.seed, quant_bits=args.quant_bits,
                 limits=Limits(timeout_s=args.timeout, mem_limit_bytes=mem),
                 workload_args={model.name: model.args()} if model else {})


def _model_workload(args: argparse.Namespace) -> Any:
    """The ``onnx_file`` workload of ``--model`` (None without it); checks the flags."""
    if not getattr(args, "model", None):
        for flag in ("input", "batch"):
            if getattr(args, flag, None) is not None:
                raise UsageError(f"--{flag} needs --model")
        return None
    for flag in ("workloads", "sizes", "workload", "size"):
        if getattr(args, flag, None):
            raise UsageError(f"--model takes the place of --{flag}")
    from workloads.onnx_file import OnnxFile

    return OnnxFile(args.model, args.input, args.batch)


def _check_model(model: Any, provers: list[str], seed: int, quant_bits: int,
                 backends: list[str]) -> None:
    """Raise ModelError (one line) when no prover in ``provers`` can take the model file:
    the op type, the node and the provers it stops. Provers stopped while others can take
    it get a note on stderr and, in a sweep, a ``skip`` row."""
    from zkbench import support
    from zkbench.cell import build
    from zkbench.graph import ModelError
    from zkbench.quantize import QuantizationError

    where = str(model.path)
    node = support.unsupported_node(model.model(model.size))
    if node is not None:
        raise ModelError(support.unsupported_line(where, node, provers))
    try:
        fmodel, _, qmodel = build(model, model.size, seed, quant_bits)
    except QuantizationError as exc:
        raise ModelError(f"{where}: {exc}; this stops {', '.join(provers)}") from None
    for backend in backends:
        found = support.stops(fmodel, qmodel, provers, backend)
        stopped = {p: s for p, s in found.items() if s is not None and s.model}
        if len(stopped) == len(provers):
            raise ModelError(support.summary_line(where, stopped))
        if stopped:
            print(f"zkbench: note: {support.summary_line(where, stopped)}", file=sys.stderr)


def _executor_from_args(args: argparse.Namespace) -> Any:
    """Local by default; Dask with --scheduler ADDRESS or --cluster local:N."""
    from zkbench.executor import DaskExecutor, LocalExecutor, parse_cluster

    if args.cells_per_worker is not None and args.cells_per_worker < 1:
        raise UsageError(f"--cells-per-worker must be at least 1, got {args.cells_per_worker}")
    if args.cluster:
        try:
            workers = parse_cluster(args.cluster)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return DaskExecutor(local_workers=workers, cells_per_worker=args.cells_per_worker or 1)
    if args.cells_per_worker is not None:
        raise UsageError("--cells-per-worker applies to --cluster local:N; workers of a "
                         "--scheduler take as many cells at once as their zkbench_cell "
                         "resource says (dask worker ... --resources zkbench_cell=K)")
    if args.scheduler:
        return DaskExecutor(scheduler=args.scheduler)
    return LocalExecutor()


def cmd_run(args: argparse.Namespace) -> int:
    from zkbench import plots, report
    from zkbench.results import load, write_parquet
    from zkbench.runner import run_sweep

    sweep = _sweep_from_args(args)
    executor = _executor_from_args(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = f"model-{Path(args.model).stem}" if args.model else args.suite
    out = Path(args.out) if args.out else Path("runs") / f"{label}-{stamp}"
    _writable_dir(out)
    results = out / "results.jsonl"
    if results.exists() and not args.resume:
        raise UsageError(f"{results} already holds results: pass --resume to continue that "
                         f"sweep, or choose another --out")
    cells = sweep.cells()
    if not args.quiet:
        print(f"zkbench: {len(cells)} cells ({', '.join(sweep.provers)} x "
              f"{sum(len(v) for v in sweep.sizes.values())} sizes x {sweep.repeat} repeats) "
              f"-> {out}", file=sys.stderr)
    started = time.monotonic()
    bar: Any = None
    try:  # a bar needs a terminal with a width; anything else gets plain lines
        use_bar = not args.quiet and sys.stderr.isatty() and os.get_terminal_size(
            sys.stderr.fileno()).columns > 0
    except OSError:
        use_bar = False

    def progress(i: int, n: int, cell: Any, rows: list[dict[str, Any]] | None) -> None:
        nonlocal bar
        if args.quiet:
            return
        if use_bar:  # a terminal: one bar with ETA, failures printed above it
            if bar is None:  # n is what is left to run (fewer on --resume)
                from tqdm import tqdm

                bar = tqdm(total=n, unit="cell", file=sys.stderr, dynamic_ncols=True,
                           bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                      "cells [{elapsed}<{remaining}]")
            if rows is None:
                bar.set_description_str(f"{cell.prover} {cell.workload} {cell.size}",
                                        refresh=False)
                bar.refresh()
                return
            status = next((r["status"] for r in rows if r["status"] != "ok"), "ok")
            if status != "ok":
                reason = next(r.get("status_reason") for r in rows if r["status"] != "ok")
                bar.write(f"zkbench: {cell.prover} {cell.workload} {cell.size} "
                          f"r{cell.repeat}: {status}: {reason}", file=sys.stderr)
            bar.update(1)
            return
        if rows is None:
            return
        # not a terminal (CI logs): one plain line per finished cell
        elapsed = time.monotonic() - started
        eta = elapsed / i * (n - i) if i else 0.0
        status = next((r["status"] for r in rows if r["status"] != "ok"), "ok")
        prove = next((r["wall_s"] for r in rows if r["stage"] == "prove" and r["status"] == "ok"),
                     None)
        detail = f"prove {prove:.3g} s" if prove is not None else rows[-1].get("status_reason", "")
        print(f"[{i}/{n}] {cell.prover} {cell.workload} {cell.size} {cell.backend} "
              f"r{cell.repeat}: {status} {detail} (elapsed {elapsed:.0f} s, eta {eta:.0f} s)",
              file=sys.stderr, flush=True)

    try:
        with executor:
            run_sweep(sweep, out, resume=args.resume, progress=progress, executor=executor)
    finally:
        if bar is not None:
            bar.close()
    df = load(results)
    write_parquet(df, out / "results.parquet")
    figures = plots.all_figures(df, out)
    report.write_markdown(df, out, figures)
    print(report.machine_tables(df))
    alarms = report.soundness_alarms(df)
    for alarm in alarms:
        print(f"zkbench: {alarm}", file=sys.stderr)
    print(f"\nresults: {results} and {out / 'results.parquet'}; report: {out / 'report.md'}; "
          f"figures: {', '.join(f.name for f in figures) or 'none'}")
    return EXIT_REJECTED if alarms else EXIT_OK


# ----------------------------------------------------------------------------- prove / verify


def _statement_context(prover_name: str, workload_name: str, size: str, seed: int,
                       quant_bits: int, backend: str,
                       workload_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a statement is derived from: prover, models, quantized input."""
    from workloads.base import UnknownSize, check_size
    from zkbench import graph, registry
    from zkbench.cell import build

    try:
        workload = registry.create_workload(workload_name, **(workload_args or {}))
        check_size(workload, size)
        prover = registry.create_prover(prover_name, backend)
    except (registry.UnknownName, UnknownSize) as exc:
        raise UsageError(str(exc)) from None
    reason = prover.available()
    if reason:
        raise UsageError(f"prover {prover_name!r} is unavailable here: {reason}")
    fmodel, x, qmodel = build(workload, size, seed, quant_bits)
    reason = prover.skip_reason(qmodel, size, backend)
    if reason:
        raise UsageError(f"prover {prover_name!r} cannot prove {workload_name} {size}: {reason}")
    xq = qmodel.quantize_input(x)
    return {"prover": prover, "qmodel": qmodel, "input": xq, "model_sha256": graph.digest(fmodel),
            "input_sha256": _sha256(np.ascontiguousarray(xq, "<i8").tobytes())}


def cmd_prove(args: argparse.Namespace) -> int:
    from provers.base import Unsupported
    from zkbench.types import Proof

    model = _model_workload(args)
    if model:
        args.workload, args.size = model.name, model.size
        _check_model(model, [args.prover], args.seed, args.quant_bits, [args.backend])
    elif not (args.workload and args.size):
        raise UsageError("prove needs --workload and --size, or --model")
    out = _writable_dir(Path(args.out))
    ctx = _statement_context(args.prover, args.workload, args.size, args.seed, args.quant_bits,
                             args.backend, model.args() if model else None)
    prover = ctx["prover"]
    try:
        artifact = prover.compile(ctx["qmodel"], out)
        keys = prover.setup(artifact)
        witness = prover.witness(artifact, ctx["input"])
        proof: Proof = prover.prove(artifact, keys, witness)
    except Unsupported as exc:
        raise UsageError(f"prover {args.prover!r}: {exc}") from None
    output = np.asarray(proof.statement.output, dtype=np.int64)
    statement = {
        "format": STATEMENT_FORMAT, "prover": args.prover, "prover_version": prover.version(),
        "backend": args.backend, "workload": args.workload, "size": args.size, "seed": args.seed,
        "quant_bits": args.quant_bits, "model_sha256": ctx["model_sha256"],
        "input_sha256": ctx["input_sha256"], "output_shape": list(output.shape),
        "output": output.reshape(-1).tolist(), "proof_sha256": _sha256(proof.data),
    }
    if model:  # the file itself, so verify can find it and tell when it changed
        statement.update(model_file=model.args()["path"], model_file_sha256=model.file_sha256,
                         input_file=model.args()["input_path"],
                         input_file_sha256=model.input_sha256, batch=model.batch)
    _atomic_write(out / "proof.bin", proof.data)
    _atomic_write(out / "statement.json", json.dumps(statement, indent=1).encode())
    print(f"wrote {out / 'proof.bin'} ({len(proof.data)} bytes) and {out / 'statement.json'}")
    return EXIT_OK


def _read_statement(folder: Path) -> tuple[dict[str, Any], bytes]:
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such proof folder")
    try:
        statement = json.loads((folder / "statement.json").read_text())
    except FileNotFoundError:
        raise UsageError(f"{folder / 'statement.json'}: missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{folder / 'statement.json'}: not valid JSON ({exc})") from None
    try:
        data = (folder / "proof.bin").read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{folder / 'proof.bin'}: missing") from None
    if not isinstance(statement, dict) or statement.get("format") != STATEMENT_FORMAT:
        raise UsageError(f"{folder / 'statement.json'}: not a {STATEMENT_FORMAT} statement")
    fields = {"prover": str, "backend": str, "workload": str, "size": str, "seed": int,
              "quant_bits": int, "model_sha256": str, "input_sha256": str, "output_shape": list,
              "output": list}
    for name, kind in fields.items():
        if not isinstance(statement.get(name), kind) or isinstance(statement.get(name), bool):
            raise UsageError(f"{folder / 'statement.json'}: field {name!r} missing or not "
                             f"a {kind.__name__}")
    return statement, data


def cmd_verify(args: argparse.Namespace) -> int:
    from provers.base import ProofRejected
    from zkbench.types import Proof, Statement

    folder = Path(args.proof_dir)
    st, data = _read_statement(folder)
    try:
        output = np.asarray(st["output"], dtype=np.int64)
        shape = tuple(int(d) for d in st["output_shape"])
        output = output.reshape(shape)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Rejected(f"statement's output does not match its output_shape: {exc}") from None
    workload_args = _statement_model(st, args)
    ctx = _statement_context(st["prover"], st["workload"], st["size"], st["seed"],
                             st["quant_bits"], st["backend"], workload_args)
    if ctx["model_sha256"] != st["model_sha256"]:
        raise Rejected(f"model digest differs: the statement's model is not {st['workload']} "
                       f"{st['size']} as this zkbench builds it")
    if ctx["input_sha256"] != st["input_sha256"]:
        raise Rejected(f"input digest differs: seed {st['seed']} does not give the statement's "
                       f"input")
    prover, qmodel = ctx["prover"], ctx["qmodel"]
    if shape != tuple(qmodel.output_shape) and st["prover"] != "null":
        raise Rejected(f"output shape {shape} is not the model's {tuple(qmodel.output_shape)}")
    artifact = prover.compile(qmodel, folder)
    keys = prover.setup(artifact)
    proof = Proof(data=data, statement=Statement(input=ctx["input"], output=output))
    try:
        accepted = prover.verify(artifact, keys, proof)
    except ProofRejected as exc:
        raise Rejected(str(exc)) from None
    if accepted is not True:
        raise Rejected(f"verifier returned {accepted!r}")
    print(f"accepted: {st['prover']} proof of {st['workload']} {st['size']} (seed {st['seed']})")
    return EXIT_OK


def _statement_model(st: dict[str, Any], args: argparse.Namespace) -> dict[str, Any] | None:
    """The model file's workload arguments of a ``prove --model`` statement (``--model`` names
    the file when it moved); Rejected when the file is not the one proven."""
    if "model_file" not in st:
        if getattr(args, "model", None):
            raise UsageError(f"the statement is about workload {st['workload']!r}, not a file")
        return None
    from workloads.onnx_file import OnnxFile

    if not isinstance(st.get("model_file_sha256"), str):
        raise UsageError("statement.json: field 'model_file_sha256' missing or not a str")
    path = getattr(args, "model", None) or st["model_file"]
    model = OnnxFile(path, st.get("input_file"), st.get("batch"))
    if model.file_sha256 != st["model_file_sha256"]:
        raise Rejected(f"model file {path} has sha256 {model.file_sha256[:16]}..., the "
                       f"statement's model has {st['model_file_sha256'][:16]}...")
    if getattr(args, "model", None):
        st["size"] = model.size  # the file's name is part of the size, and it moved
    elif st["size"] != model.size:
        raise Rejected(f"statement's size {st['size']!r} is not {model.size!r}, the size of "
                       f"{path} with its inputs")
    return model.args()


# ----------------------------------------------------------------------------- report


def cmd_report(args: argparse.Namespace) -> int:
    from zkbench import plots, report
    from zkbench.results import load

    df = load(Path(args.results))
    if args.machine:
        try:
            df = report.select_machine(df, args.machine)
        except ValueError as exc:
            raise UsageError(f"--machine: {exc}") from None
    out = _writable_dir(Path(args.out))
    figures = plots.all_figures(df, out, args.mix_statements)
    path = report.write_markdown(df, out, figures, args.mix_statements)
    print(report.machine_tables(df))
    print(f"\nreport: {path}; figures: {', '.join(f.name for f in figures) or 'none'}")
    return EXIT_OK


# ----------------------------------------------------------------------------- inspect


def cmd_inspect(args: argparse.Namespace) -> int:
    from collections import Counter

    from zkbench import graph, registry, support
    from zkbench.cell import build
    from zkbench.normalize import opset
    from zkbench.quantize import QuantizationError

    model = _model_workload(argparse.Namespace(model=args.model, input=args.input,
                                               batch=args.batch))
    original = model.original
    norm = model.normalized
    fmodel = norm.model

    def ops(m: Any) -> str:
        counts = Counter(n.op_type for n in m.graph.node)
        return ", ".join(f"{op} x{c}" if c > 1 else op for op, c in counts.items()) or "none"

    print(f"model      {model.path} (sha256 {model.file_sha256[:16]}..., opset {opset(original)}, "
          f"producer {original.producer_name or '?'} {original.producer_version})".rstrip())
    print(f"input      {fmodel.graph.input[0].name} {list(model.input_shape)} float32; "
          f"inputs: {model.input_source}")
    out = fmodel.graph.output[0]
    dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
    print(f"output     {out.name} {dims} ({model.output_kind})")
    print(f"ops        {ops(original)}")
    print(f"normalized {ops(fmodel)}")
    for note in norm.notes:
        print(f"note       {note}")
    print(f"parameters {graph.n_params(fmodel):,} (file: {graph.n_params(original):,})")
    print(f"MACs       {graph.n_macs(fmodel):,}")
    provers = _split(args.provers) or registry.prover_names()
    node = support.unsupported_node(fmodel)
    problem, line, qmodel = "", "", None
    if node is not None:
        problem = f"op {node.op_type} at node {node.name!r} (the quantizer has no {node.op_type})"
        line = support.unsupported_line(str(model.path), node, provers)
    else:
        try:
            _, _, qmodel = build(model, model.size, args.seed, args.quant_bits)
        except QuantizationError as exc:
            problem = str(exc)
            line = f"{model.path}: {exc}; this stops {', '.join(provers)}"
    print("provers:")
    if qmodel is None:
        for name in provers:
            print(f"  {name:18s} no: {problem}")
        print(f"zkbench: {line}", file=sys.stderr)
        return EXIT_USAGE
    found = support.stops(fmodel, qmodel, provers, args.backend, compile_check=True)
    for name, stop in found.items():
        print(f"  {name:18s} " + ("yes" if stop is None else f"no: {stop.reason}"))
    return EXIT_OK if any(s is None for s in found.values()) else EXIT_USAGE


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zkbench",
        description="Benchmark zero-knowledge ML provers side by side: proving and verifying "
                    "time, peak memory, proof size, fidelity, and whether tampered proofs are "
                    "rejected.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list provers (availability, field, security, backends) "
                                    "and workloads (sizes)",
                       description="List every registered prover and workload.")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("run", help="run a sweep and write results, a report and figures",
                       description="Run a sweep of cells (prover x workload x size x backend x "
                                   "repeat), each in its own subprocess with a timeout and a "
                                   "memory cap. Rows are appended to OUT/results.jsonl as each "
                                   "cell finishes; OUT/results.parquet, OUT/report.md and "
                                   "figures are written at the end.")
    s.add_argument("--provers", help="comma-separated provers (default: every available one)")
    s.add_argument("--workloads", help="comma-separated workloads (default: all)")
    s.add_argument("--sizes", help="comma-separated named sizes, e.g. n=16,n=256 "
                                   "(default: the suite's)")
    s.add_argument("--suite", default="quick",
                   help="named suite: quick (default), full, paper, coi-params, coi-depth")
    s.add_argument("--backend", default="cpu", help="comma-separated backends (default: cpu)")
    s.add_argument("--device", help="alias of --backend, e.g. --device cuda (a GPU); a cell "
                                    "whose prover cannot run there is a skip row")
    s.add_argument("--repeat", type=int, default=1, help="repeats per cell (default: 1)")
    s.add_argument("--seed", type=int, default=0, help="input seed (default: 0)")
    s.add_argument("--quant-bits", type=int, default=8, help="integer width (default: 8)")
    s.add_argument("--timeout", type=float, default=600.0,
                   help="wall-clock limit per cell in seconds (default: 600)")
    s.add_argument("--mem-limit", default="8G", help="memory cap per cell (default: 8G)")
    s.add_argument("--out", help="output folder (default: runs/SUITE-TIMESTAMP)")
    s.add_argument("--resume", action="store_true",
                   help="continue a sweep in --out, skipping cells already finished")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run cells on the workers of this Dask scheduler, e.g. "
                            "tcp://host:8786 (workers need --resources zkbench_cell=1)")
    where.add_argument("--cluster", metavar="local:N",
                       help="run cells on a Dask LocalCluster of N worker processes started "
                            "here")
    s.add_argument("--cells-per-worker", type=int, default=None, metavar="K",
                   help="cells a --cluster worker runs at once (default: 1, so timings do "
                        "not interfere)")
    _model_flags(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("prove", help="prove one statement; write proof.bin and statement.json",
                       description="Prove one (prover, workload, size, seed) statement in this "
                                   "process and write OUT/proof.bin and OUT/statement.json.")
    s.add_argument("--prover", required=True)
    s.add_argument("--workload")
    s.add_argument("--size")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--backend", default="cpu")
    s.add_argument("--quant-bits", type=int, default=8)
    s.add_argument("--out", required=True)
    _model_flags(s)
    s.set_defaults(func=cmd_prove)

    s = sub.add_parser("verify", help="verify a folder written by `zkbench prove`",
                       description="Re-derive the model and input from DIR/statement.json and "
                                   "verify DIR/proof.bin. Exit 0 accepted, 1 rejected (reason "
                                   "on stderr), 2 unusable input.")
    s.add_argument("proof_dir", metavar="DIR")
    s.add_argument("--model", help="the model file of a `prove --model` statement, when it "
                                   "is no longer where the statement says")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("report", help="summarise a results file into a markdown report",
                       description="Write OUT/report.md (medians and spread over repeats) and "
                                   "figures from RESULTS (results.jsonl, results.parquet or "
                                   "their folder).")
    s.add_argument("results", metavar="RESULTS")
    s.add_argument("--out", required=True)
    s.add_argument("--machine", metavar="ID",
                   help="only the rows run on this machine (its machine_id or a unique prefix; "
                        "the report lists them)")
    s.add_argument("--mix-statements", action="store_true",
                   help="one summary table and one figure panel for every statement kind "
                        "(public, committed-weights, zk) together; by default each kind is "
                        "compared only with itself")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("inspect", help="what an ONNX file holds and which provers can take it",
                       description="Load and normalize MODEL as `run --model` does; list its "
                                   "ops, parameters and MACs, and for each prover whether it "
                                   "can take the model or which op at which node stops it. "
                                   "Exit 0 when some prover can, 2 otherwise.")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("--input", help="inputs (.npy or .json) to calibrate the quantizer on")
    s.add_argument("--batch", type=int, help="value of a dynamic batch dimension (default 1)")
    s.add_argument("--provers", help="comma-separated provers (default: all)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--backend", default="cpu")
    s.add_argument("--quant-bits", type=int, default=8)
    s.set_defaults(func=cmd_inspect)
    return p


def _model_flags(s: argparse.ArgumentParser) -> None:
    s.add_argument("--model", help="an ONNX file to benchmark instead of built-in workloads")
    s.add_argument("--input", help="with --model: the input(s), .npy or .json (default: "
                                   "seeded random values of the input's shape)")
    s.add_argument("--batch", type=int, help="with --model: value of a dynamic batch "
                                             "dimension (default 1)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from provers.base import ProverError
    from workloads.base import UnknownSize
    from zkbench.executor import ExecutorError
    from zkbench.graph import ModelError
    from zkbench.quantize import QuantizationError
    from zkbench.registry import UnknownName
    from zkbench.results.schema import SchemaError
    from zkbench.results.store import StoreError
    from zkbench.suites import UnknownSuite

    try:
        return args.func(args)
    except Rejected as exc:
        print(f"zkbench: rejected: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except (UsageError, UnknownName, UnknownSize, UnknownSuite, ModelError, QuantizationError,
            StoreError, SchemaError, FileExistsError, ExecutorError) as exc:
        print(f"zkbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ProverError as exc:
        print(f"zkbench: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("zkbench: interrupted; finished cells are kept (use --resume)", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, still one line; ZKBENCH_DEBUG=1 shows the traceback
        if os.environ.get("ZKBENCH_DEBUG"):
            raise
        print(f"zkbench: internal error: {exc.__class__.__name__}: {exc} "
              f"(set ZKBENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
