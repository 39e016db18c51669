"""Results: the long-format schema and the append-only store. ``load`` is the public entry."""

from zkbench.results.schema import COLUMNS, SCHEMA_VERSION, SchemaError, validate
from zkbench.results.store import append_rows, load, read_rows, write_parquet

__all__ = [
    "COLUMNS",
    "SCHEMA_VERSION",
    "SchemaError",
    "append_rows",
    "load",
    "read_rows",
    "validate",
    "write_parquet",
]
