"""``onnx_file``: a model the user brings as an ONNX file, with optional inputs from a file.

The workload has one size, named after the file and its digest: ``STEM-SHA12`` (the first 12
hex digits of the file's SHA-256), then ``-bN`` when a batch other than 1 is asked for and
``-inSHA8`` when inputs come from a file. A changed model or input file is therefore a
different size and a different ``cell_id``. Cell subprocesses and ``zkbench verify``
rebuild it from the same arguments (``args()``).

The float model is the file after ``zkbench.normalize`` (load and onnx's checker first).
Inputs: from ``input_path`` (``.npy``, or ``.json`` holding a nested array or an object with
one array field, such as ezkl's ``input_data``), holding one input of the model's shape or
several along an extra leading axis, drawn by the seed's generator; without a file, standard
normal float32 values of the input's shape, seeded. A batched model (``--batch`` B > 1) may
also be given a file of single rows, B of which make one input. ``input_source`` says which
kind of input, in every row.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx

from zkbench import graph
from zkbench.graph import ModelError
from zkbench.types import Size

NAME = "onnx_file"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return h.hexdigest()


def read_array(path: Path) -> np.ndarray:
    """A float array from ``.npy`` or ``.json``; ModelError naming the file otherwise."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            value = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise ModelError(f"{path}: no such input file") from None
        except (ValueError, OSError) as exc:
            raise ModelError(f"{path}: not a readable .npy array ({exc})") from None
    elif path.suffix == ".json":
        try:
            value = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: no such input file") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path}: not valid JSON ({exc})") from None
        if isinstance(value, dict):
            arrays = [v for v in value.values() if isinstance(v, list)]
            if len(arrays) != 1:
                raise ModelError(f"{path}: a JSON object must hold exactly one array field, "
                                 f"has {len(arrays)}")
            value = arrays[0]
    else:
        raise ModelError(f"{path}: inputs are read from .npy or .json files")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ModelError(f"{path}: not a rectangular array of numbers") from None
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"{path}: holds NaN or infinite values")
    return arr.astype(np.float32)


def as_samples(arr: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    """``arr`` as (samples, *shape): one input of ``shape`` (or flat, or without its leading
    batch of 1), or several of them along a leading axis."""
    size = int(np.prod(shape))
    if arr.shape == shape or arr.ndim <= 1 and arr.size == size:
        return arr.reshape(1, *shape)
    if shape[:1] == (1,) and arr.shape == shape[1:]:
        return arr.reshape(1, *shape)
    if arr.ndim >= 1 and arr.shape[1:] == shape:
        return arr
    if shape[:1] == (1,) and arr.shape[1:] == shape[1:] or arr.ndim == 2 and arr.shape[1] == size:
        return arr.reshape(arr.shape[0], *shape)
    raise ModelError(f"{where}: inputs of shape {arr.shape} do not fit the model's input "
                     f"{shape} (one input, or several along a leading axis)")


class OnnxFile:
    name: ClassVar[str] = NAME

    def __init__(self, path: str | Path | None = None, input_path: str | Path | None = None,
                 batch: int | None = None) -> None:
        if path is None:
            raise ModelError("onnx_file needs a model file (zkbench run --model PATH)")
        if batch is not None and batch < 1:
            raise ModelError(f"--batch must be at least 1, got {batch}")
        self.path = Path(path)
        self.input_path = Path(input_path) if input_path is not None else None
        self.batch = batch
        self.file_sha256 = file_sha256(self.path)
        self.input_sha256 = file_sha256(self.input_path) if self.input_path else None

    def args(self) -> dict[str, Any]:
        """What rebuilds this workload elsewhere: ``OnnxFile(**args)``."""
        return {"path": str(self.path.resolve()),
                "input_path": str(self.input_path.resolve()) if self.input_path else None,
                "batch": self.batch}

    @property
    def size(self) -> Size:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.path.stem)[:40] or "model"
        size = f"{stem}-{self.file_sha256[:12]}"
        if self.batch not in (None, 1):
            size += f"-b{self.batch}"
        if self.input_sha256:
            size += f"-in{self.input_sha256[:8]}"
        return size

    def sizes(self) -> tuple[Size, ...]:
        return (self.size,)

    def quick_sizes(self) -> tuple[Size, ...]:
        return (self.size,)

    @functools.cached_property
    def original(self) -> onnx.ModelProto:
        """The file as written, after onnx's checker."""
        return graph.load(self.path)

    @functools.cached_property
    def normalized(self) -> Any:
        from zkbench.normalize import normalize

        return normalize(self.original, self.batch, where=str(self.path))

    def model(self, size: Size) -> onnx.ModelProto:
        self._check(size)
        return self.normalized.model

    @property
    def input_shape(self) -> tuple[int, ...]:
        x = self.normalized.model.graph.input[0]
        return tuple(d.dim_value for d in x.type.tensor_type.shape.dim)

    @property
    def output_kind(self) -> str:
        """``scores`` when the output is a row (or rows) of several values: a classifier."""
        out = self.normalized.model.graph.output[0].type.tensor_type.shape.dim
        dims = [d.dim_value for d in out]
        return "scores" if len(dims) >= 2 and dims[-1] > 1 else "values"

    @functools.cached_property
    def _data(self) -> tuple[str, np.ndarray] | None:
        """("samples", (S, *input shape)), or ("rows", (N, *row shape)) when a batched model
        (batch B > 1) gets a file of single rows: each input is then B rows drawn from them."""
        if self.input_path is None:
            return None
        arr, shape = read_array(self.input_path), self.input_shape
        if (len(shape) >= 2 and shape[0] > 1 and arr.ndim == len(shape)
                and arr.shape[1:] == shape[1:] and arr.shape[0] != shape[0]):
            return "rows", arr
        return "samples", as_samples(arr, shape, str(self.input_path))

    @property
    def input_source(self) -> str:
        if self.input_path is None:
            return "random"
        return f"file:{self.input_path.name}@{self.input_sha256[:12]}"  # type: ignore[index]

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        """One input: a sample of the input file chosen by ``rng``, or seeded standard normal
        values of the model's input shape."""
        self._check(size)
        if self._data is None:
            return rng.standard_normal(self.input_shape).astype(np.float32)
        kind, data = self._data
        if kind == "rows":
            batch = self.input_shape[0]
            picked = rng.choice(len(data), size=batch, replace=len(data) < batch)
            return np.array(data[picked], dtype=np.float32)
        return np.array(data[int(rng.integers(len(data)))], dtype=np.float32)

    def _check(self, size: Size) -> None:
        if size != self.size:
            raise ModelError(f"{self.path}: size {size!r} is not this file's {self.size!r} "
                             f"(the file changed?)")
