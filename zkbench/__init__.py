"""zkbench: a benchmark and comparison suite for zero-knowledge machine-learning provers."""

__version__ = "0.1.0"
